"""The Python examples of a documentation page, for the tests that run them.

The TypeScript doctests (test/docs/doctests.test.ts) run ```ts and ```sh example=NAME blocks that call
``policy-kernel``; Python examples cannot be ``example=`` blocks there, so they are marked, as on the
package's own guide (docs/guides/python.md, test_docs_examples.py), ```python py-example=NAME (or
```sh py-example=NAME for a ``python -m ...`` command line), with the expected output in
```text py-output=NAME. The pytest suite runs them; ``UPDATE_DOCS=1`` rewrites the output blocks from a
real run, as the TypeScript doctests do.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_OPEN = re.compile(r"^(`{3,})(\w*)(.*)$")
_ATTR = re.compile(r"([\w-]+)=([\w-]+)")


@dataclass(frozen=True)
class DocBlock:
    """One fenced block: its language, attributes, body and 0-based lines of the fences."""

    lang: str
    attrs: dict[str, str]
    body: str
    start: int
    end: int


def doc_blocks(page: str) -> list[DocBlock]:
    """Every fenced block of a page (a path relative to the repository)."""
    lines = (REPO / page).read_text(encoding="utf-8").split("\n")
    out: list[DocBlock] = []
    i = 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if match is None:
            i += 1
            continue
        fence = match.group(1)
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith(fence) and lines[j].strip() == fence), len(lines))
        out.append(DocBlock(match.group(2).lower(), dict(_ATTR.findall(match.group(3))), "\n".join(lines[i + 1 : end]), i, end))
        i = end + 1
    return out


def example(page: str, name: str) -> DocBlock:
    """The block marked ``py-example=name``."""
    found = [b for b in doc_blocks(page) if b.attrs.get("py-example") == name]
    assert len(found) == 1, f"{page}: expected one block with py-example={name}, found {len(found)}"
    return found[0]


def expected_output(page: str, name: str) -> str | None:
    """The body of the ```text py-output=name block (None when the example's output is not recorded)."""
    found = [b for b in doc_blocks(page) if b.attrs.get("py-output") == name]
    return found[0].body if found else None


def check_output(page: str, name: str, actual: str) -> None:
    """Asserts the recorded output equals ``actual``; with UPDATE_DOCS=1 rewrites the block instead."""
    text = actual.rstrip("\n")
    if os.environ.get("UPDATE_DOCS") == "1":
        path = REPO / page
        lines = path.read_text(encoding="utf-8").split("\n")
        block = next(b for b in doc_blocks(page) if b.attrs.get("py-output") == name)
        lines[block.start + 1 : block.end] = text.split("\n")
        path.write_text("\n".join(lines), encoding="utf-8")
        return
    recorded = expected_output(page, name)
    assert recorded is not None, f"{page}: no ```text py-output={name} block"
    assert text == recorded, f"{page}: the output of py-example={name} changed (UPDATE_DOCS=1 rewrites it)"
