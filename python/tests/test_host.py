"""Host: the ready line, typed error replies, a host that dies or refuses to load is a HostError."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from policy_kernel import Host, HostError, InvalidAction, InvalidStep, PolicyKernelError

pytestmark = pytest.mark.usefixtures("require_build")


def test_the_ready_line_and_hello_agree(shared_host: Host) -> None:
    ready = shared_host.ready
    assert ready["ready"] is True and ready["protocol"] == 1
    assert set(ready["kinds"]) >= {"sql", "gate"}
    hello = shared_host.request("hello")
    assert hello["protocol"] == 1
    assert hello["policies"] == ready["policies"]
    assert hello["version"] == ready["version"]


@pytest.mark.parametrize(
    ("op", "params", "code"),
    [
        ("no_such_op", {}, "unknown_op"),
        ("metrics", {"env": 999_999}, "unknown_env"),
        ("hello", {"surprise": 1}, "invalid_request"),
        ("make", {"kind": "chess"}, "invalid_request"),
    ],
)
def test_error_replies_keep_their_code(shared_host: Host, op: str, params: dict[str, object], code: str) -> None:
    with pytest.raises(PolicyKernelError) as caught:
        shared_host.request(op, **params)
    assert caught.value.code == code
    # The host answers the next request as usual.
    assert shared_host.request("hello")["protocol"] == 1


def test_an_unknown_param_is_named(shared_host: Host) -> None:
    with pytest.raises(PolicyKernelError) as caught:
        shared_host.request("hello", surprise=1)
    assert caught.value.field == "surprise"


def test_a_host_that_cannot_load_its_kernel_says_why(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    started = time.monotonic()
    with pytest.raises(HostError) as caught:
        Host(["--no-bundle", "--rules", str(missing)])
    assert caught.value.exit_code == 1
    assert "missing.json" in caught.value.stderr_tail
    assert "missing.json" in str(caught.value)
    assert time.monotonic() - started < 30


def test_a_bad_flag_is_a_host_error_with_exit_code_1() -> None:
    with pytest.raises(HostError) as caught:
        Host(["--no-such-flag"])
    assert caught.value.exit_code == 1
    assert "no-such-flag" in caught.value.stderr_tail


def test_a_command_that_does_not_exist_is_a_host_error(tmp_path: Path) -> None:
    with pytest.raises(HostError, match="could not start"):
        Host(cli=[str(tmp_path / "nothing-here")])


def test_a_command_that_is_not_the_host_is_refused_not_awaited() -> None:
    # `echo` writes one line that is not a ready line, then exits.
    with pytest.raises(HostError, match="not JSON|not a protocol-1 ready line"):
        Host(cli=["echo", "hello"])


def test_a_closed_host_refuses_requests_and_its_process_is_gone() -> None:
    with Host(["--no-rules"]) as host:
        assert host.request("hello")["protocol"] == 1
        proc = host._proc
    assert host.closed
    assert proc.returncode == 0, "the host exits 0 on stdin EOF"
    with pytest.raises(HostError, match="closed"):
        host.request("hello")


def test_an_oversize_line_is_refused_and_the_host_keeps_serving() -> None:
    with Host(["--max-line-bytes", "4096"]) as host:
        with pytest.raises(PolicyKernelError) as caught:
            host.request("evaluate", action={"agentId": "a", "action": {"type": "message", "to": "x@example.com", "text": "y" * 10_000}})
        assert caught.value.code == "too_large"
        assert host.request("hello")["protocol"] == 1


def test_batch_items_are_ok_or_error_in_order(shared_host: Host) -> None:
    action = {"agentId": "a", "action": {"type": "sql", "sql": "SELECT 1"}}
    items = shared_host.batch([{"op": "evaluate", "action": action}, {"op": "step", "env": 999_999, "action": 0}])
    assert items[0]["ok"] is True and "decision" in items[0]["result"]
    assert items[1]["ok"] is False and items[1]["error"]["code"] == "unknown_env"


def test_a_host_that_never_becomes_ready_is_killed_after_the_timeout() -> None:
    # `sleep` stands in for a host stuck loading: no ready line, no exit.
    started = time.monotonic()
    with pytest.raises(HostError, match="no ready line within 0.5 s") as caught:
        Host(cli=["sh", "-c", "exec sleep 30", "sh"], ready_timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert caught.value.exit_code == -9


def test_a_batch_item_json_cannot_carry_is_named_with_its_ops_error(shared_host: Host) -> None:
    with pytest.raises(InvalidStep) as step:
        shared_host.batch([{"op": "step", "env": 1, "action": 0}, {"op": "step", "env": 1, "action": float("nan")}])
    assert step.value.field == "requests[1].action"
    nan_context = {"agentId": "a", "action": {"type": "sql", "sql": "SELECT 1"}, "context": {"costUsd": float("inf")}}
    with pytest.raises(InvalidAction) as evaluate:
        shared_host.batch([{"op": "evaluate", "action": nan_context}])
    assert evaluate.value.field == "requests[0].action.context.costUsd"


def test_deep_nesting_is_refused_by_the_host_with_a_clear_error(shared_host: Host) -> None:
    deep: object = "x"
    for _ in range(200):
        deep = {"a": deep}
    with pytest.raises(PolicyKernelError) as caught:
        shared_host.request("evaluate", action={"agentId": "a", "action": {"type": "sql", "sql": "SELECT 1", "extra": deep}})
    assert caught.value.code == "invalid_request"
    assert "deep" in str(caught.value) or "nest" in str(caught.value)
    assert shared_host.request("hello")["protocol"] == 1


def test_an_interrupted_request_closes_the_host_rather_than_reading_its_reply_as_the_next_one(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host()
    real = host._read_reply
    calls = {"n": 0}

    def interrupted(what: str) -> object:
        # Ctrl-C arrives after the request was written, before its reply was read.
        calls["n"] += 1
        raise KeyboardInterrupt

    monkeypatch.setattr(host, "_read_reply", interrupted)
    with pytest.raises(KeyboardInterrupt):
        host.request("hello")
    monkeypatch.setattr(host, "_read_reply", real)
    with pytest.raises(HostError, match="interrupted before its reply"):
        host.request("hello")
    assert calls["n"] == 1
    deadline = time.monotonic() + 10
    while host._proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert host._proc.poll() == 0  # stdin closed: the host sealed its trails and exited
