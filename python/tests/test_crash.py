"""Crashes: a killed host is a HostError at once; a killed trainer leaves no host process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from policy_kernel import GovernedSQLEnv, Host, HostError, Kernel

pytestmark = pytest.mark.usefixtures("require_build")


def running(pid: int) -> bool:
    """The process exists and is not a zombie (a reparented zombie may wait long for its reaper)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def wait_gone(pid: int, timeout_s: float) -> float:
    """Seconds until pid is gone; fails the test after timeout_s."""
    started = time.monotonic()
    while running(pid):
        if time.monotonic() - started > timeout_s:
            pytest.fail(f"process {pid} still runs after {timeout_s} s")
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_host_killed_mid_episode_is_a_host_error_at_once() -> None:
    env = GovernedSQLEnv(seed=1)
    env.reset()
    os.kill(env.host.pid, signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises(HostError) as caught:
        env.step(1)
    assert time.monotonic() - started < 5
    assert caught.value.exit_code == -signal.SIGKILL
    assert "exited" in str(caught.value) or "died" in str(caught.value)
    with pytest.raises(HostError, match="closed"):
        env.reset()
    env.close()  # closing what is already gone is quiet


def test_a_host_killed_between_requests_fails_the_next_one_for_every_user() -> None:
    host = Host()
    kernel = Kernel(host=host)
    os.kill(host.pid, signal.SIGKILL)
    with pytest.raises(HostError):
        kernel.evaluate({"agentId": "a", "action": {"type": "sql", "sql": "SELECT 1"}})
    with pytest.raises(HostError, match="closed"):
        host.request("hello")
    host.close()


TRAINER = textwrap.dedent(
    """
    import sys, time
    import policy_kernel
    env = policy_kernel.GovernedSQLEnv(seed=0, trail_path=sys.argv[1])
    env.reset()
    env.step(0)
    kernel = policy_kernel.Kernel()
    print(env.host.pid, kernel.host.pid, flush=True)
    time.sleep(120)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGKILL])
def test_a_killed_trainer_leaves_no_host_behind(tmp_path: Path, sig: signal.Signals) -> None:
    trail = tmp_path / "trail.jsonl"
    trainer = subprocess.Popen([sys.executable, "-c", TRAINER, str(trail)], stdout=subprocess.PIPE, text=True)
    assert trainer.stdout is not None
    pids = [int(p) for p in trainer.stdout.readline().split()]
    assert len(pids) == 2 and all(running(p) for p in pids)
    trainer.send_signal(sig)
    trainer.wait(10)
    for pid in pids:
        assert wait_gone(pid, 10.0) < 10.0
    # The host closed the trail on stdin EOF: every line it wrote is whole JSON.
    text = trail.read_text()
    assert text.endswith("\n") and all(line.startswith("{") for line in text.splitlines())


def test_a_host_left_unclosed_is_closed_at_interpreter_exit(tmp_path: Path) -> None:
    script = "import policy_kernel; h = policy_kernel.Host(); print(h.pid, flush=True)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert wait_gone(int(done.stdout.strip()), 5.0) < 5.0
