"""Governed rollouts on Ray: two workers, each with its own host; merged by seed; every trail verified.

One local Ray (num_cpus=2, no dashboard, offline) serves the module; each run starts its own actors,
and each actor its own ``policy-kernel serve --stdio`` host (real processes throughout).
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import shlex
import signal
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

# Not importorskip: `make pytest` installs the ray extra, and a missing Ray must fail, never skip silently.
import ray  # noqa: E402

from _doc_blocks import check_output, example  # noqa: E402
from policy_kernel import Host  # noqa: E402
from policy_kernel.errors import PolicyKernelError  # noqa: E402
from policy_kernel.ray import MissingDependency, RolloutError, run_governed_rollouts, verify_trails  # noqa: E402
from policy_kernel.ray import main as ray_main  # noqa: E402

PAGE = "docs/guides/python-training.md"
DOC_RUN: dict[str, Any] = {}


@pytest.fixture(scope="module")
def local_ray(require_build: None) -> Iterator[float]:
    """A local Ray for the module; yields its start-up time in seconds."""
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield time.perf_counter() - started
    ray.shutdown()


@pytest.fixture(scope="module")
def driver_host(require_build: None) -> Iterator[Host]:
    """The driver's own host, for verifying trails (never a worker's)."""
    with Host() as host:
        yield host


@pytest.fixture(scope="module")
def runs(local_ray: float, driver_host: Host, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Any]:
    """The same seeds with two workers (the guide's example, run as written) and with one."""
    folder = tmp_path_factory.mktemp("ray-doc")
    namespace: dict[str, Any] = {"__name__": "__doc__"}
    printed = io.StringIO()
    cwd = os.getcwd()
    os.chdir(folder)  # the example writes rollout-trails/ where it runs
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(example(PAGE, "py-ray-rollouts").body, "python-training.md:py-ray-rollouts", "exec"), namespace)
    finally:
        os.chdir(cwd)
    DOC_RUN.update(printed=printed.getvalue(), folder=folder)
    two = namespace["run"]
    assert two.num_workers == 2
    seeds = [s.seed for s in two.summary.shards]
    one = run_governed_rollouts(list(reversed(seeds)), two.summary.episodes_per_seed, 1, trail_dir=tmp_path_factory.mktemp("ray-1"), host=driver_host)
    return {1: one, 2: two}


def test_the_merged_summary_does_not_depend_on_the_worker_count(runs: dict[int, Any]) -> None:
    one, two = runs[1].summary, runs[2].summary
    assert json.dumps(one.to_json(with_workers=False), sort_keys=True) == json.dumps(two.to_json(with_workers=False), sort_keys=True)
    assert [s.seed for s in two.shards] == [1, 2, 3, 4]
    assert two.total.episodes == 4 * two.episodes_per_seed
    # Same seed, same chain: the trail heads agree whichever worker wrote them.
    assert [s.trail_head for s in one.shards] == [s.trail_head for s in two.shards]


def test_work_is_shared_and_violations_add_up(runs: dict[int, Any]) -> None:
    summary = runs[2].summary
    assert [w.seeds for w in summary.workers] == [(1, 3), (2, 4)]
    assert sum(w.episodes for w in summary.workers) == summary.total.episodes
    assert summary.violations == sum(w.violations for w in summary.workers) > 0
    merged: dict[str, int] = {}
    for w in summary.workers:
        for policy, count in w.violations_by_policy.items():
            merged[policy] = merged.get(policy, 0) + count
    assert merged == dict(summary.total.violations_by_policy)
    assert runs[1].summary.workers[0].seeds == (1, 2, 3, 4)


def test_governed_rollouts_execute_no_denied_action(runs: dict[int, Any]) -> None:
    total = runs[2].summary.total
    assert total.denied_proposals > 0
    assert total.executed_denied == 0


def test_every_worker_trail_is_verified_by_the_driver(runs: dict[int, Any]) -> None:
    summary = runs[2].summary
    assert summary.all_trails_verified
    assert all(w.trails_verified for w in summary.workers)
    for check, shard in zip(summary.trails, summary.shards):
        assert check.status == "sealed" and check.verified
        assert check.head == shard.trail_head and check.entries == shard.trail_entries > 0
        assert Path(check.path).name == f"seed-{shard.seed}.jsonl"


def test_a_tampered_trail_is_reported(runs: dict[int, Any], driver_host: Host) -> None:
    summary = runs[1].summary
    target = Path(summary.trails[1].path)
    lines = target.read_text().splitlines(keepends=True)
    assert '"agentId":"sql-agent"' in lines[2]
    lines[2] = lines[2].replace('"agentId":"sql-agent"', '"agentId":"sql-agenT"', 1)
    target.write_text("".join(lines))
    checks = verify_trails([t.path for t in summary.trails], heads={t.path: t.head for t in summary.trails}, seeds=[t.seed for t in summary.trails], host=driver_host)
    assert [c.verified for c in checks] == [True, False, True, True]
    assert checks[1].status == "broken"
    assert checks[1].message == f"{target}: line 3: hash_mismatch: hash does not match the entry's content"


HOSTILE_TRAILS: dict[str, tuple[bytes | None, str, str]] = {
    "missing": (None, "error", "no public key"),
    "empty": (b"", "unsealed", "empty.jsonl: unsealed: 0 entries"),
    "not-json": (b"not json\n", "broken", "line 1: invalid_entry"),
    "prototype-key": (b'{"__proto__":{"x":1},"seq":0}\n', "broken", "line 1: invalid_entry"),
    "truncated-object": (b'{"seq":0,"hash":"' + b"a" * 64 + b'",,,}\n', "broken", "line 1: invalid_entry"),
    "deep-nesting": (b"[" * 5000 + b"]" * 5000 + b"\n", "broken", "line 1: invalid_entry"),
}


def test_hostile_trail_files_are_reported_not_trusted(runs: dict[int, Any], driver_host: Host, tmp_path: Path) -> None:
    # Each file gets the public key of a real trail beside it, so only the content is wrong.
    key = Path(f"{runs[2].summary.trails[0].path}.pub").read_bytes()
    paths = []
    for name, (content, _, _) in HOSTILE_TRAILS.items():
        path = tmp_path / f"{name}.jsonl"
        if content is not None:
            path.write_bytes(content)
            Path(f"{path}.pub").write_bytes(key)
        paths.append(str(path))
    checks = verify_trails(paths, host=driver_host)
    for (name, (_, status, message)), check in zip(HOSTILE_TRAILS.items(), checks):
        assert (check.status, check.verified) == (status, False), name
        assert message in check.message and check.path in check.message, name


def test_a_forged_trail_with_its_own_key_is_a_head_mismatch(runs: dict[int, Any], driver_host: Host) -> None:
    # A trail that verifies with the key beside it, but is not the trail the worker reported.
    summary = runs[2].summary
    first, second = summary.trails[0], summary.trails[1]
    checks = verify_trails([second.path], heads={second.path: first.head}, seeds=[second.seed], host=driver_host)
    assert checks[0].status == "head_mismatch" and not checks[0].verified


def test_a_failing_shard_names_worker_and_seed_and_keeps_the_other_trails(local_ray: float, driver_host: Host, tmp_path: Path) -> None:
    # The host cannot write seed 8's public key (a folder is in the way): that shard fails alone.
    (tmp_path / "seed-8.jsonl.pub").mkdir()
    with pytest.raises(RolloutError) as failed:
        run_governed_rollouts([5, 8, 11], 5, 2, trail_dir=tmp_path, host=driver_host)
    error = failed.value
    assert str(error).startswith("worker 1 failed on seed 8: ")
    assert [(w, s) for w, s, _ in error.failures] == [(1, 8)]
    kept = {Path(p).name: p for p in error.kept_trails}
    assert sorted(kept) == ["seed-11.jsonl", "seed-5.jsonl", "seed-8.jsonl"]
    assert "seed-8.jsonl.pub" in str(error.failures[0][2])
    for name in ("seed-5.jsonl", "seed-11.jsonl"):
        assert verify_trails([kept[name]], host=driver_host)[0].verified, name


def test_no_more_workers_than_seeds(local_ray: float, driver_host: Host, tmp_path: Path) -> None:
    run = run_governed_rollouts([4], 3, 5, trail_dir=tmp_path, host=driver_host)
    assert run.num_workers == 1
    assert [w.seeds for w in run.summary.workers] == [(4,)]
    assert run.summary.all_trails_verified and run.summary.total.episodes == 3


def test_an_existing_trail_is_refused_before_ray_work(local_ray: float, tmp_path: Path) -> None:
    (tmp_path / "seed-3.jsonl").write_text("keep\n")
    with pytest.raises(PolicyKernelError, match="seed-3.jsonl: a trail is never overwritten"):
        run_governed_rollouts([3], 5, 1, trail_dir=tmp_path)
    assert (tmp_path / "seed-3.jsonl").read_text() == "keep\n"


@pytest.mark.parametrize(
    ("seeds", "workers", "message"),
    [([], 1, "seeds: expected at least one seed"), ([1, 1], 1, "seeds: expected distinct seeds"), ([1, -2], 1, r"seeds\[1\]: expected a non-negative integer"), ([1], 0, "num_workers: expected a positive integer")],
)
def test_bad_arguments_are_refused(seeds: list[int], workers: int, message: str, tmp_path: Path) -> None:
    with pytest.raises(PolicyKernelError, match=message):
        run_governed_rollouts(seeds, 5, workers, trail_dir=tmp_path)


def test_without_ray_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_import = builtins.__import__

    def no_ray(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(MissingDependency, match=r"pip install 'policy-kernel\[ray\]'"):
        run_governed_rollouts([1], 5, 1, trail_dir=tmp_path)


def test_figures(runs: dict[int, Any], local_ray: float, record_testsuite_property: Any) -> None:
    """Not an assertion on speed (a shared 2-core machine): the figures go to the junit report's properties."""
    for n, run in runs.items():
        assert run.rollouts_per_s > 0 and run.num_workers == n
        assert run.timing_json()["rayStartS"] == 0.0, "the module's Ray was reused"
        record_testsuite_property(f"ray_workers{n}", json.dumps(run.timing_json()))
    record_testsuite_property("ray_start_s", str(round(local_ray, 2)))


def test_docs_ray_example_prints_the_recorded_summary(runs: dict[int, Any]) -> None:
    check_output(PAGE, "py-ray-rollouts", DOC_RUN["printed"])
    trails = sorted(p.name for p in (DOC_RUN["folder"] / "rollout-trails").glob("seed-*.jsonl"))
    assert trails == ["seed-1.jsonl", "seed-2.jsonl", "seed-3.jsonl", "seed-4.jsonl"]


def test_docs_ray_cli_verifies_every_trail(local_ray: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    argv = shlex.split(example(PAGE, "py-ray-cli").body)
    assert argv[:3] == ["python", "-m", "policy_kernel.ray"]
    monkeypatch.chdir(tmp_path)
    assert ray_main(argv[3:]) == 0
    out = capsys.readouterr().out
    assert "total" in out and "FAILED" not in out
    assert out.count(": sealed, ") == 4
    assert "timing: Ray start 0.0 s" in out, "the module's Ray was reused"


def test_a_worker_whose_host_dies_reports_it_and_starts_a_new_one(require_build: None, tmp_path: Path) -> None:
    # The actor class itself, in this process: what Ray runs in each worker.
    from policy_kernel import HostError, find_cli
    from policy_kernel.agents import AgentConfig
    from policy_kernel.ray import _RolloutWorker

    worker = _RolloutWorker(0, find_cli(), ())
    try:
        first_pid = worker.ready()
        os.kill(first_pid, signal.SIGKILL)
        with pytest.raises(HostError, match="exit"):
            worker.run_shard(1, 3, True, str(tmp_path / "seed-1.jsonl"), None, None, AgentConfig())
        result = worker.run_shard(2, 3, True, str(tmp_path / "seed-2.jsonl"), None, None, AgentConfig())
        assert worker.ready() != first_pid
        assert result.trail_verified and len(result.records) == 3
    finally:
        worker.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "1-x", "--trail-dir", "t"], "argument --seeds: expected seeds such as 1,2,3 or 1-8, got '1-x'"),
        (["--seeds", "1,1", "--trail-dir", "t"], "seeds: expected distinct seeds"),
        (["--episodes", "0", "--trail-dir", "t"], "episodes_per_seed: expected a positive integer, got 0"),
        (["--workers", "two", "--trail-dir", "t"], "argument --workers: invalid int value: 'two'"),
        ([], "the following arguments are required: --trail-dir"),
    ],
)
def test_ray_cli_refuses_bad_flags_before_starting_anything(args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    try:
        code = ray_main(args)
    except SystemExit as stopped:
        code = stopped.code
    assert code == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "t").exists()
