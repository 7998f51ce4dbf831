"""The Python examples of the README and the docs run, and print exactly the block under them.

A ```python py-example=NAME block runs in a fresh interpreter, in a scratch folder where examples/,
rules/ and bundle/ are the repository's; its stdout must equal the ```text py-output=NAME block.
`UPDATE_DOCS=1` rewrites the output blocks from a real run. Every python block of every page is an
example with an output. The examples of docs/guides/python-training.md train agents and start Ray:
test_train.py, test_ray.py and test_docs_python_training.py run those.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from _doc_blocks import check_output, doc_blocks
from conftest import REPO

RUN_ELSEWHERE = {"docs/guides/python-training.md"}
PAGES = ["README.md", *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").rglob("*.md") if "api" not in p.parts)]
EXAMPLES = [(page, b.attrs["py-example"]) for page in PAGES if page not in RUN_ELSEWHERE for b in doc_blocks(page) if b.lang == "python" and "py-example" in b.attrs]


@pytest.mark.parametrize("page", PAGES)
def test_every_python_block_is_an_example_with_an_output(page: str) -> None:
    blocks = doc_blocks(page)
    unmarked = [b.start + 1 for b in blocks if b.lang == "python" and "py-example" not in b.attrs]
    assert unmarked == [], f"{page}: python blocks without py-example=NAME at lines {unmarked}"
    examples = sorted(b.attrs["py-example"] for b in blocks if "py-example" in b.attrs)
    outputs = sorted(b.attrs["py-output"] for b in blocks if b.lang == "text" and "py-output" in b.attrs)
    assert set(outputs) <= set(examples), f"{page}: a py-output block without its example"
    if page not in RUN_ELSEWHERE:
        assert examples == outputs, f"{page}: each example needs one py-output block"


def test_the_python_pages_have_their_examples() -> None:
    pages = {page for page, _ in EXAMPLES}
    assert {"README.md", "docs/guides/python.md", "docs/guides/python-vector-envs.md"} <= pages


@pytest.mark.usefixtures("require_build")
@pytest.mark.parametrize(("page", "name"), EXAMPLES)
def test_the_example_prints_its_output(page: str, name: str, tmp_path: Path) -> None:
    for folder in ("examples", "rules", "bundle"):
        (tmp_path / folder).symlink_to(REPO / folder)
    body = next(b.body for b in doc_blocks(page) if b.attrs.get("py-example") == name)
    done = subprocess.run([sys.executable, "-c", body], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    check_output(page, name, done.stdout)
