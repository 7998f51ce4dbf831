"""Shared fixtures: the host is this checkout's built CLI unless POLICY_KERNEL_CLI says otherwise."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "python"
CLI_JS = REPO / "dist" / "src" / "cli" / "main.js"

if "POLICY_KERNEL_CLI" not in os.environ:
    os.environ["POLICY_KERNEL_CLI"] = shlex.join(["node", str(CLI_JS)])


def host_available() -> bool:
    """True when the configured CLI exists (the TypeScript build ran)."""
    parts = shlex.split(os.environ["POLICY_KERNEL_CLI"])
    return not (len(parts) >= 2 and parts[0] == "node" and not Path(parts[1]).exists())


@pytest.fixture(scope="session")
def require_build() -> None:
    """Fails a test that needs the host when the CLI is not built (never a silent skip)."""
    if not host_available():
        pytest.exit(f"{CLI_JS} is missing: run `make build` (or `npx tsc -p tsconfig.build.json`) first", returncode=1)


@pytest.fixture
def python() -> str:
    """The interpreter running the tests, for trainer subprocesses."""
    return sys.executable


@pytest.fixture(scope="session")
def shared_host(require_build: None) -> Iterator["object"]:
    """One host with the default policies, shared by tests that only evaluate or make envs."""
    from policy_kernel import Host

    host = Host()
    yield host
    host.close()
