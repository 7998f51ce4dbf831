"""Kernel: typed decisions equal to what `policy-kernel eval` prints; the CLI's options; bad actions refused."""

from __future__ import annotations

import functools
import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import EXAMPLES, REPO
from policy_kernel import Decision, Host, InvalidAction, InvalidConfig, Kernel, PolicyKernelError

pytestmark = pytest.mark.usefixtures("require_build")

ACTIONS: list[dict[str, Any]] = [
    {"agentId": "a1", "action": {"type": "sql", "sql": "SELECT name FROM users WHERE id = 1"}},
    {"agentId": "a1", "action": {"type": "sql", "sql": "DROP TABLE users"}},
    {"agentId": "a1", "action": {"type": "sql", "sql": "SELECT 1"}, "context": {"costUsd": 40, "spentUsd": 60.5}},
    {"agentId": "a1", "action": {"type": "tool_call", "tool": "issue_refund", "args": {}}, "context": {"role": "analyst"}},
    {"agentId": "a1", "action": {"type": "message", "to": "someone@external.example", "text": "card 4111 1111 1111 1111"}},
]


def cli_eval(action: dict[str, Any], *flags: str) -> dict[str, Any]:
    """What `policy-kernel eval` decides for the action: the oracle (each answer computed once)."""
    return json.loads(_cli_eval(json.dumps(action), flags))


@functools.lru_cache(maxsize=None)
def _cli_eval(action: str, flags: tuple[str, ...]) -> str:
    command = [*shlex.split(os.environ["POLICY_KERNEL_CLI"]), "eval", *flags]
    done = subprocess.run(command, input=action, capture_output=True, text=True, check=False)
    assert done.returncode in (0, 2), done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def kernel() -> Any:
    with Kernel() as k:
        yield k


@pytest.mark.parametrize("index", range(len(ACTIONS)))
def test_a_decision_equals_the_cli_eval(kernel: Kernel, index: int) -> None:
    decision = kernel.evaluate(ACTIONS[index])
    assert isinstance(decision, Decision)
    assert decision.to_json() == cli_eval(ACTIONS[index])


def test_the_default_library_denies_and_allows(kernel: Kernel) -> None:
    decisions = kernel.evaluate_batch(ACTIONS)
    assert [d.allowed for d in decisions] == [cli_eval(a)["allowed"] for a in ACTIONS]
    assert True in [d.allowed for d in decisions] and False in [d.allowed for d in decisions]
    drop = decisions[1]
    assert drop.critical and drop.violations[0].blocked and drop.violations[0].penalty > 0


def test_a_batch_equals_single_evaluations(kernel: Kernel) -> None:
    assert kernel.evaluate_batch(ACTIONS) == [kernel.evaluate(a) for a in ACTIONS]
    assert kernel.evaluate_batch([]) == []


def test_rules_and_no_bundle_are_the_cli_flags() -> None:
    rules = EXAMPLES / "frozen_lake_rules.json"
    action = {"agentId": "a", "action": {"type": "tool_call", "tool": "move", "args": {"direction": "up"}}}
    with Kernel(rules=rules, no_bundle=True) as k:
        decision = k.evaluate(action)
        assert k.bundle_revision is None
    assert decision.to_json() == cli_eval(action, "--no-bundle", "--rules", str(rules))
    assert [v.rule for v in decision.violations] == ["no_up"]
    assert decision.provenance.bundle_revision is None and decision.provenance.rules_sha256


def test_bundle_and_data_are_the_cli_flags(tmp_path: Path) -> None:
    bundle = REPO / "bundle" / "default.tar.gz"
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"policy_kernel": {"config": {"cost": {"max_cost_usd": 5}}}}))
    action = {"agentId": "a", "action": {"type": "sql", "sql": "SELECT 1"}, "context": {"costUsd": 6}}
    with Kernel(bundle=bundle, data=data, no_rules=True) as k:
        decision = k.evaluate(action)
    assert decision.to_json() == cli_eval(action, "--bundle", str(bundle), "--data", str(data), "--no-rules")
    assert decision.provenance.bundle_revision is not None
    assert not decision.allowed


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ({"agentId": "a", "action": {"type": "sql", "sql": 7}}, "action.sql"),
        ({"agentId": "a", "action": {"sql": "SELECT 1"}}, "action.type"),
        ({"action": {"type": "sql", "sql": "SELECT 1"}}, "agentId"),
        ({"agentId": "a", "action": {"type": "transaction", "amountUsd": -1, "recipient": "r"}}, "action.amountUsd"),
        ("DROP TABLE users", "(root)"),
    ],
)
def test_a_malformed_action_is_denied_naming_the_field(kernel: Kernel, action: Any, field: str) -> None:
    # As evaluateUntrusted does in TypeScript: the trainer's action is judged, never trusted;
    # a malformed one is a critical kernel/invalid_action denial (recorded), not an exception.
    decision = kernel.evaluate(action)
    assert not decision.allowed
    assert [(v.policy, v.rule, v.severity) for v in decision.violations] == [("kernel", "invalid_action", "critical")]
    assert field in decision.violations[0].description


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float64("-inf")])
def test_nan_or_infinity_anywhere_is_invalid_action_naming_the_field(kernel: Kernel, bad: float) -> None:
    action = {"agentId": "a", "action": {"type": "sql", "sql": "SELECT 1"}, "context": {"costUsd": bad}}
    with pytest.raises(InvalidAction) as caught:
        kernel.evaluate(action)
    assert caught.value.field == "action.context.costUsd"
    with pytest.raises(InvalidAction) as caught:
        kernel.evaluate_batch([ACTIONS[0], action])
    assert caught.value.field == "actions[1].context.costUsd"


def test_prototype_keys_are_refused_by_the_host(kernel: Kernel) -> None:
    action = json.loads('{"agentId": "a", "action": {"type": "sql", "sql": "SELECT 1", "__proto__": {"x": 1}}}')
    with pytest.raises(PolicyKernelError) as caught:
        kernel.evaluate(action)
    assert "__proto__" in str(caught.value)


def test_numpy_values_in_an_action_are_plain_json(kernel: Kernel) -> None:
    action = {"agentId": "a", "action": {"type": "transaction", "amountUsd": np.float32(12.5), "recipient": "r"}, "context": {"actionsInWindow": np.int64(3)}}
    plain = {"agentId": "a", "action": {"type": "transaction", "amountUsd": 12.5, "recipient": "r"}, "context": {"actionsInWindow": 3}}
    assert kernel.evaluate(action) == kernel.evaluate(plain)


def test_a_shared_host_takes_no_kernel_options(shared_host: Host) -> None:
    with pytest.raises(InvalidConfig, match="host"):
        Kernel(rules="x.json", host=shared_host)
    shared = Kernel(host=shared_host)
    assert shared.evaluate(ACTIONS[0]).allowed == cli_eval(ACTIONS[0])["allowed"]
    shared.close()
    assert not shared_host.closed, "a kernel does not close a host it was given"
