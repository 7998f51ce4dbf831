"""What Python sends: numpy values as JSON; NaN, infinity and non-JSON values refused naming the field."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from policy_kernel import HostError, InvalidAction, InvalidStep
from policy_kernel._json import MAX_DEPTH, decode_line, encode_request
from policy_kernel.kernel import kernel_flags
from policy_kernel import InvalidConfig


def test_numpy_values_become_plain_json() -> None:
    line = encode_request({"id": 1, "op": "step", "action": np.int64(2), "x": np.float32(0.5), "b": np.bool_(True), "a": np.arange(3)}, "invalid_step")
    assert json.loads(line) == {"id": 1, "op": "step", "action": 2, "x": 0.5, "b": True, "a": [0, 1, 2]}
    assert line.endswith(b"\n") and line.count(b"\n") == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"action": {"context": {"costUsd": float("nan")}}}, "action.context.costUsd"),
        ({"actions": [{"a": 1}, {"a": float("inf")}]}, r"actions\[1\].a"),
        ({"action": np.float64("-inf")}, "action"),
        ({"action": np.array([1.0, np.nan])}, "action"),
        ({"action": object()}, "action"),
        ({"action": {(1, 2): "x"}}, "action"),
    ],
)
def test_values_json_cannot_carry_name_their_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidAction, match=f"^{field}: "):
        encode_request(payload, "invalid_action")


def test_the_error_class_follows_the_op_code() -> None:
    with pytest.raises(InvalidStep):
        encode_request({"action": float("nan")}, "invalid_step")


def test_nesting_too_deep_for_json_dumps_is_refused_before_sending() -> None:
    value: Any = 1
    for _ in range(100_000):
        value = [value]
    with pytest.raises(InvalidAction, match=f"nesting deeper than {MAX_DEPTH}"):
        encode_request({"action": value}, "invalid_action")


@pytest.mark.parametrize("line", [b"NaN\n", b'{"x": Infinity}\n', b"{\n", b"\xff\xfe\n", b"[" * 100_000 + b"]" * 100_000])
def test_a_reply_that_is_not_strict_json_is_a_host_error(line: bytes) -> None:
    with pytest.raises(HostError, match="not JSON"):
        decode_line(line)


def test_kernel_flags_are_the_cli_flags() -> None:
    assert kernel_flags(bundle="b.tar.gz", rules=["a.json", "b.json"], data="d.json", fail_open=True, args=["--log-level", "error"]) == [
        "--bundle", "b.tar.gz", "--rules", "a.json", "--rules", "b.json", "--data", "d.json", "--fail-open", "--log-level", "error",
    ]
    assert kernel_flags(rules="one.json", no_bundle=True) == ["--no-bundle", "--rules", "one.json"]
    assert kernel_flags() == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"bundle": "b", "no_bundle": True}, "no_bundle"),
        ({"rules": "r", "no_rules": True}, "no_rules"),
        ({"rules": []}, "rules"),
        ({"args": "--no-bundle"}, "args"),
        ({"args": ["--x", 3]}, r"args\[1\]"),
    ],
)
def test_contradicting_or_wrong_flags_are_refused(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidConfig, match=f"^{field}: "):
        kernel_flags(**kwargs)
