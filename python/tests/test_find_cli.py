"""find_cli: POLICY_KERNEL_CLI, else policy-kernel on PATH, else one error that says how to install."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from policy_kernel import HostError, HostNotFound, find_cli


def test_the_variable_is_split_as_a_shell_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICY_KERNEL_CLI", "node '/opt/my dir/main.js' --x")
    assert find_cli() == ["node", "/opt/my dir/main.js", "--x"]


def test_path_is_searched_without_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    exe = tmp_path / "policy-kernel"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("POLICY_KERNEL_CLI")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_cli() == [str(exe)]


def test_nothing_found_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("POLICY_KERNEL_CLI")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(HostNotFound) as caught:
        find_cli()
    assert "npm install -g policy-kernel" in str(caught.value)
    assert "POLICY_KERNEL_CLI" in str(caught.value)
    assert isinstance(caught.value, HostError)
    assert caught.value.code == "host_not_found"


@pytest.mark.parametrize("value", ["", "   ", "node 'unterminated"])
def test_an_empty_or_unparseable_variable_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("POLICY_KERNEL_CLI", value)
    with pytest.raises(HostNotFound, match="POLICY_KERNEL_CLI"):
        find_cli()


def test_the_variable_is_restored_for_other_tests() -> None:
    assert os.environ["POLICY_KERNEL_CLI"]
