"""The agent loop of docs/guides/python-training.md, run as a reader would (the table is in test_train.py, Ray in test_ray.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from _doc_blocks import check_output, example

PAGE = "docs/guides/python-training.md"


def test_agent_loop_prints_the_recorded_rates(require_build: None, tmp_path: Path) -> None:
    script = tmp_path / "agent_loop.py"
    script.write_text(example(PAGE, "py-agent-loop").body)
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=180, env=os.environ.copy())
    assert run.returncode == 0, run.stderr
    check_output(PAGE, "py-agent-loop", run.stdout)
