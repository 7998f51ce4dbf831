"""The vector env reads the host's replies as hostile input: a reply of the wrong shape is a HostError
naming the field, never a KeyError or a silent zero. Also: the host dying mid-run, and over --max-envs."""

from __future__ import annotations

import os
import signal
from typing import Any

import numpy as np
import pytest

from policy_kernel import GovernedSQLVectorEnv, HostError, InvalidStep, PolicyKernelError
from policy_kernel import _sql_wire as wire

GOOD_OBS = {"task": 1, "mask": [1, 1, 0, 0], "step": 0}


@pytest.mark.parametrize(
    "spec",
    [None, [], {"actionCount": "4", "maxSteps": 3, "taskCount": 12, "tasks": []}, {"actionCount": 4, "maxSteps": True, "taskCount": 12, "tasks": []}, {"actionCount": 4, "maxSteps": 3, "taskCount": 12}, {"__proto__": {"actionCount": 4}}],
)
def test_a_bad_spec_is_a_host_error(spec: Any) -> None:
    with pytest.raises(HostError):
        wire.SqlSpec.from_json(spec)


@pytest.mark.parametrize(
    "replies,count",
    [
        ([], 1),
        ([{"ok": True, "result": {}}], 2),
        ([{"ok": True, "result": [1]}], 1),
        ([{"ok": True}], 1),
        ([{"ok": False, "error": "boom"}], 1),
        ([{"ok": False, "error": {"code": 5, "message": "x"}}], 1),
    ],
)
def test_a_bad_batch_reply_is_a_host_error(replies: list[dict[str, Any]], count: int) -> None:
    with pytest.raises(HostError):
        wire.results(replies, count)


def test_a_failed_item_raises_its_typed_error() -> None:
    with pytest.raises(InvalidStep) as raised:
        wire.results([{"ok": True, "result": {}}, {"ok": False, "error": {"code": "invalid_step", "message": "no", "field": "action"}}], 2)
    assert raised.value.field == "action"


@pytest.mark.parametrize(
    "result",
    [
        {},
        {"observation": GOOD_OBS},
        {"observation": {**GOOD_OBS, "mask": [True, 1, 0, 0]}, "info": {}},
        {"observation": {**GOOD_OBS, "mask": [1, 1, 0]}, "info": {}},
        {"observation": {**GOOD_OBS, "task": 1.5}, "info": {}},
        {"observation": {**GOOD_OBS, "step": None}, "info": {}},
        {"observation": "x", "info": {}},
    ],
)
def test_a_bad_reset_reply_is_a_host_error(result: dict[str, Any]) -> None:
    with pytest.raises(HostError):
        wire.reset_result(result, 4)


@pytest.mark.parametrize(
    "change",
    [{"reward": "1"}, {"reward": True}, {"terminated": 0}, {"truncated": None}, {"info": []}],
)
def test_a_bad_step_reply_is_a_host_error(change: dict[str, Any]) -> None:
    result = {"observation": GOOD_OBS, "reward": -1, "terminated": False, "truncated": False, "info": {"reward": {"base": -1, "step": 0, "violations": 0, "bonus": 0, "total": -1}}, **change}
    with pytest.raises(PolicyKernelError):
        wire.step_result(result, 4)


def test_a_host_that_dies_mid_run_is_a_host_error(require_build: None) -> None:
    vector = GovernedSQLVectorEnv(2, seed=3)
    vector.reset()
    os.kill(vector.host.pid, signal.SIGKILL)
    with pytest.raises(HostError) as raised:
        vector.step(np.array([0, 1]))
    assert raised.value.exit_code == -signal.SIGKILL
    vector.close()  # nothing left to close: no second error


def test_more_envs_than_the_host_allows(require_build: None) -> None:
    with pytest.raises(PolicyKernelError) as raised:
        GovernedSQLVectorEnv(3, kernel_args=["--max-envs", "2"])
    assert raised.value.code == "too_many_envs"
