"""The examples of docs/guides/python-training.md, run as a reader would (the Ray ones are in test_ray.py)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from _doc_blocks import check_output, example

PAGE = "docs/guides/python-training.md"


def test_train_cli_prints_the_recorded_table(require_build: None, tmp_path: Path) -> None:
    argv = shlex.split(example(PAGE, "train-cli").body)
    assert argv[:3] == ["python", "-m", "policy_kernel.train"]
    run = subprocess.run([sys.executable, *argv[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=180, env=os.environ.copy())
    assert run.returncode == 0, run.stderr
    check_output(PAGE, "train-cli", run.stdout)


def test_agent_loop_prints_the_recorded_rates(require_build: None, tmp_path: Path) -> None:
    script = tmp_path / "agent_loop.py"
    script.write_text(example(PAGE, "agent-loop").body)
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=180, env=os.environ.copy())
    assert run.returncode == 0, run.stderr
    check_output(PAGE, "agent-loop", run.stdout)
