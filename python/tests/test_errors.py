"""Error replies become the typed error of their code, with field and expected kept."""

from __future__ import annotations

from typing import Any

import pytest

from policy_kernel import EnvClosed, HostError, InvalidAction, InvalidConfig, InvalidStep, PolicyKernelError, ResetNeeded
from policy_kernel.errors import error_from_reply


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("env_closed", EnvClosed),
        ("reset_needed", ResetNeeded),
        ("invalid_step", InvalidStep),
        ("invalid_action", InvalidAction),
        ("invalid_config", InvalidConfig),
    ],
)
def test_each_code_has_its_class(code: str, cls: type[PolicyKernelError]) -> None:
    error = error_from_reply({"code": code, "message": "went wrong"})
    assert type(error) is cls
    assert error.code == code
    assert isinstance(error, PolicyKernelError)


def test_other_codes_keep_their_code_on_the_base_class() -> None:
    error = error_from_reply({"code": "unknown_env", "message": "no env 9", "field": "env", "expected": "a handle from make"})
    assert type(error) is PolicyKernelError
    assert (error.code, error.field, error.expected) == ("unknown_env", "env", "a handle from make")
    assert str(error) == "env: no env 9 (expected a handle from make)"


def test_a_message_already_located_is_not_located_twice() -> None:
    error = error_from_reply({"code": "invalid_step", "message": "action: out of range (expected an int in 0..3)", "field": "action", "expected": "an int in 0..3"})
    assert str(error) == "action: out of range (expected an int in 0..3)"
    assert error.reason == "out of range"


@pytest.mark.parametrize("error", [None, "boom", [], {"code": 1, "message": "x"}, {"code": "x"}, {"message": "x"}])
def test_a_malformed_error_is_a_host_error(error: Any) -> None:
    assert isinstance(error_from_reply(error), HostError)


def test_builtin_bases_let_generic_code_catch_them() -> None:
    assert issubclass(InvalidStep, ValueError)
    assert issubclass(InvalidAction, ValueError)
    assert issubclass(EnvClosed, RuntimeError)
    assert issubclass(ResetNeeded, RuntimeError)
