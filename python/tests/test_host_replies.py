"""Replies the package must not trust: a host that breaks the protocol is a HostError naming what it wrote.

These stand-in hosts are scripts that write a valid ready line, then one scripted reply per request:
the adversarial input path, not the feature (the feature is tested against the real host).
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from policy_kernel import GovernedSQLEnv, Host, HostError, PolicyKernelError

READY = '{"ready":true,"protocol":1,"version":"0.1.0","policies":[],"bundleRevision":null,"kinds":["sql","gate"]}'


def scripted(tmp_path: Path, replies: list[str], ready: str = READY) -> list[str]:
    """A command running a stand-in host that answers each request line with the next scripted reply."""
    script = tmp_path / "host.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            replies = {replies!r}
            print({ready!r}, flush=True)
            for line, reply in zip(sys.stdin, replies):
                sys.stdout.write(reply + "\\n")
                sys.stdout.flush()
            """
        )
    )
    return [sys.executable, str(script)]


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        ("not json", "not JSON"),
        ("[1,2]", "not an object"),
        ('{"id":99,"ok":true,"result":{}}', "out of step"),
        ('{"id":1,"ok":true,"result":[]}', "result that is not an object"),
        ('{"id":1,"ok":false,"error":"boom"}', "not an object"),
        ('{"id":1,"ok":false,"error":{"code":7}}', "no string code"),
        ('{"id":1,"ok":true,"result":{"x":NaN}}', "not JSON"),
    ],
)
def test_a_broken_reply_is_a_host_error(tmp_path: Path, reply: str, match: str) -> None:
    with Host(cli=scripted(tmp_path, [reply])) as host:
        with pytest.raises(HostError, match=match):
            host.request("hello")


@pytest.mark.parametrize(
    "ready",
    ['{"ready":false}', '{"ready":true,"protocol":2}', "[]", '"ready"'],
)
def test_a_wrong_ready_line_is_refused(tmp_path: Path, ready: str) -> None:
    with pytest.raises(HostError, match="ready line"):
        Host(cli=scripted(tmp_path, [], ready=ready))


def test_an_error_reply_without_an_id_is_raised(tmp_path: Path) -> None:
    with Host(cli=scripted(tmp_path, ['{"id":null,"ok":false,"error":{"code":"too_large","message":"line over 16 MiB"}}'])) as host:
        with pytest.raises(PolicyKernelError) as caught:
            host.request("hello")
    assert caught.value.code == "too_large"


@pytest.mark.parametrize(
    "spec",
    [
        '{"env":1,"spec":{"kind":"sql","actionCount":"4","maxSteps":3,"taskCount":12,"tasks":[]}}',
        '{"env":"1","spec":{"kind":"sql","actionCount":4,"maxSteps":3,"taskCount":12,"tasks":[]}}',
        '{"env":1}',
    ],
)
def test_a_malformed_make_reply_is_named(tmp_path: Path, spec: str) -> None:
    host = Host(cli=scripted(tmp_path, ['{"id":1,"ok":true,"result":' + spec + "}"]))
    with pytest.raises(HostError, match=r"make(\.spec)?\.(env|spec|actionCount)"):
        GovernedSQLEnv(host=host)
    host.close()


@pytest.mark.parametrize(
    ("observation", "match"),
    [
        ('{"task":1,"mask":[1,1,1],"step":0}', "observation.mask"),
        ('{"task":1,"mask":[1,1,2,1],"step":0}', "observation.mask"),
        ('{"task":true,"mask":[1,1,1,1],"step":0}', "observation.task"),
        ('{"mask":[1,1,1,1],"step":0}', "observation.task"),
    ],
)
def test_a_malformed_observation_is_named(tmp_path: Path, observation: str, match: str) -> None:
    make = '{"id":1,"ok":true,"result":{"env":1,"spec":{"kind":"sql","actionCount":4,"maxSteps":3,"taskCount":12,"tasks":[]}}}'
    reset = '{"id":2,"ok":true,"result":{"observation":' + observation + ',"info":{"taskId":"t","prompt":"p","episode":1,"seed":0}}}'
    host = Host(cli=scripted(tmp_path, [make, reset]))
    env = GovernedSQLEnv(host=host)
    with pytest.raises(HostError, match=match):
        env.reset(seed=0)
    host.close()
