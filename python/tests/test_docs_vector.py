"""The Python examples of docs/guides/python-vector-envs.md run, and print exactly the block under them.

The page follows the convention of the Python guide: a ```python py-example=NAME block runs in a fresh
interpreter (in a scratch folder); its stdout must equal the ```text py-output=NAME block.
`UPDATE_DOCS=1` rewrites the output blocks from a real run. Every python block on the page is an example.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "python-vector-envs.md"
OPEN = re.compile(r"^ {0,3}(`{3,})\s*([^\s`]*)(.*)$")
UPDATE = os.environ.get("UPDATE_DOCS") == "1"


@dataclass(frozen=True)
class Fence:
    """A fenced block: language, attributes, body, and the lines of its opening and closing fences."""

    lang: str
    attrs: dict[str, str]
    body: str
    start: int
    end: int


def fences(text: str) -> list[Fence]:
    """The page's fenced code blocks, in order."""
    lines = text.split("\n")
    found: list[Fence] = []
    i = 0
    while i < len(lines):
        match = OPEN.match(lines[i])
        if not match:
            i += 1
            continue
        close = re.compile(rf"^ {{0,3}}`{{{len(match.group(1))},}}\s*$")
        end = i + 1
        while end < len(lines) and not close.match(lines[end]):
            end += 1
        attrs = dict(re.findall(r"([\w-]+)=([\w-]+)", match.group(3)))
        found.append(Fence(match.group(2), attrs, "\n".join(lines[i + 1 : end]), i, end))
        i = end + 1
    return found


BLOCKS = fences(PAGE.read_text(encoding="utf-8"))
EXAMPLES = {b.attrs["py-example"]: b for b in BLOCKS if "py-example" in b.attrs}
OUTPUTS = {b.attrs["py-output"]: b for b in BLOCKS if b.lang == "text" and "py-output" in b.attrs}
actual: dict[str, str] = {}


def test_every_python_block_is_an_example_with_an_output() -> None:
    unmarked = [b.start + 1 for b in BLOCKS if b.lang == "python" and "py-example" not in b.attrs]
    assert unmarked == [], f"python blocks without py-example=NAME at lines {unmarked}"
    assert sorted(EXAMPLES) == sorted(OUTPUTS), "each example needs one py-output block, and each output an example"
    assert len(EXAMPLES) >= 4


@pytest.mark.usefixtures("require_build")
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_example_prints_its_output(name: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", EXAMPLES[name].body], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    actual[name] = done.stdout.rstrip("\n")
    if not UPDATE:
        assert actual[name] == OUTPUTS[name].body


def teardown_module() -> None:
    """With UPDATE_DOCS=1, writes each output block from its run (from the bottom up, so line numbers hold)."""
    if not UPDATE or not actual:
        return
    lines = PAGE.read_text(encoding="utf-8").split("\n")
    for name, block in sorted(OUTPUTS.items(), key=lambda item: -item[1].start):
        if name in actual:
            lines[block.start + 1 : block.end] = actual[name].split("\n")
    PAGE.write_text("\n".join(lines), encoding="utf-8")
