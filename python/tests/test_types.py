"""Decision and friends read the host's JSON, keep unknown fields, and refuse wrong types by name."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policy_kernel import Decision, HostError, RewardParts, TrailInfo, Violation

VIOLATION: dict[str, Any] = {
    "type": "blocked",
    "policy": "sql",
    "rule": "destructive_statement",
    "severity": "critical",
    "description": "DROP TABLE is never allowed",
    "blocked": True,
    "penalty": 100,
    "source": "rego",
}
DECISION: dict[str, Any] = {
    "allowed": False,
    "violations": [VIOLATION, {**VIOLATION, "severity": "low", "type": "warned", "blocked": False, "penalty": 0.5, "signal": "SIGSTOP", "details": {"rows": [1, 2]}}],
    "signals": ["SIGSTOP"],
    "provenance": {"bundleRevision": "r1", "bundleSha256": "ab" * 32, "dataSha256": None, "rulesSha256": None},
}


def test_decision_round_trips_to_the_same_json() -> None:
    decision = Decision.from_json(DECISION)
    assert decision.allowed is False
    assert decision.violations[0].rule == "destructive_statement"
    assert decision.violations[1].details == {"rows": [1, 2]}
    assert decision.provenance.bundle_revision == "r1"
    assert decision.critical
    assert decision.to_json() == DECISION


def test_fields_of_a_newer_host_are_kept_in_extra() -> None:
    data = copy.deepcopy(DECISION)
    data["latencyNs"] = 1234
    data["violations"][0]["ruleUrl"] = "https://example.test/r"
    data["provenance"]["engine"] = "rego-js"
    decision = Decision.from_json(data)
    assert decision.extra == {"latencyNs": 1234}
    assert decision.violations[0].extra == {"ruleUrl": "https://example.test/r"}
    assert decision.provenance.extra == {"engine": "rego-js"}
    assert decision.to_json() == data


def test_decisions_compare_and_hash_by_value() -> None:
    a, b = Decision.from_json(DECISION), Decision.from_json(copy.deepcopy(DECISION))
    assert a == b
    assert Violation.from_json(VIOLATION) == Violation.from_json(dict(VIOLATION))
    assert hash(Violation.from_json(VIOLATION)) == hash(Violation.from_json(dict(VIOLATION)))


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("allowed",), "yes", "decision.allowed"),
        (("allowed",), 1, "decision.allowed"),
        (("violations",), {}, "decision.violations"),
        (("signals",), [1], "decision.signals[0]"),
        (("violations", 0, "penalty"), True, "decision.violations[0].penalty"),
        (("violations", 1, "blocked"), None, "decision.violations[1].blocked"),
        (("provenance", "bundleRevision"), 7, "decision.provenance.bundleRevision"),
        (("provenance",), [], "decision.provenance"),
    ],
)
def test_a_wrong_type_is_a_host_error_naming_the_field(path: tuple[Any, ...], value: Any, field: str) -> None:
    data = copy.deepcopy(DECISION)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(HostError, match=field.replace("[", r"\[").replace("]", r"\]")):
        Decision.from_json(data)


def test_a_missing_field_is_named() -> None:
    data = copy.deepcopy(DECISION)
    del data["violations"][0]["source"]
    with pytest.raises(HostError, match=r"decision\.violations\[0\]\.source: missing"):
        Decision.from_json(data)


def test_a_non_object_is_refused() -> None:
    for value in (None, [], "x", 3):
        with pytest.raises(HostError, match="expected an object"):
            Decision.from_json(value)


def test_prototype_keys_are_plain_extra_data() -> None:
    data = copy.deepcopy(DECISION)
    data["__proto__"] = {"allowed": True}
    data["constructor"] = "x"
    decision = Decision.from_json(data)
    assert decision.allowed is False
    assert set(decision.extra) == {"__proto__", "constructor"}


def test_reward_parts_and_trail_info() -> None:
    parts = RewardParts.from_json({"base": 1, "step": -0.01, "violations": -50, "bonus": 0, "total": -49.01})
    assert parts.violations == -50.0 and parts.total == pytest.approx(-49.01)
    assert parts.to_json() == {"base": 1, "step": -0.01, "violations": -50, "bonus": 0, "total": -49.01}
    trail = TrailInfo.from_json({"entries": 3, "head": "ff", "path": None, "verified": True, "lines": []})
    assert (trail.entries, trail.head, trail.path, trail.verified) == (3, "ff", None, True)
    assert trail.extra == {}
    with pytest.raises(HostError, match=r"trail\.entries"):
        TrailInfo.from_json({"entries": 1.5, "head": None, "path": None})


def test_step_info_reads_the_violations_once_and_keeps_them_apart_when_they_differ() -> None:
    from policy_kernel.sql_env import step_info

    reward = {"base": -1, "step": 0, "violations": -100, "bonus": 0, "total": -100}
    info = {"step": 1, "taskId": "t", "candidateId": "c", "invalidAction": False, "blocked": True, "executed": False, "success": False,
            "decision": copy.deepcopy(DECISION), "violations": copy.deepcopy(DECISION["violations"]), "reward": reward}
    same = step_info(info)
    assert same["violations"] is same["decision"].violations and same["kernel_decision"] is same["decision"]
    info["violations"] = [VIOLATION]
    info["kernelDecision"] = {**copy.deepcopy(DECISION), "allowed": True}
    apart = step_info(info)
    assert apart["violations"] == (Violation.from_json(VIOLATION),)
    assert apart["kernel_decision"].allowed is True and apart["decision"].allowed is False
    assert apart["reward_parts"] == RewardParts.from_json(reward)
