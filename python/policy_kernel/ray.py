"""Governed rollouts across Ray workers: each worker owns its host, env and trails; the driver merges.

:func:`run_governed_rollouts` splits the work into shards (one per seed), gives them to Ray actors round
robin, and merges what they return **ordered by seed**, so the merged summary is the same whatever the number
of workers. Every worker starts its own ``policy-kernel serve --stdio`` host; every shard trains a fresh
tabular Q-learning agent on ``GovernedSQL-v0`` and streams its trail to its own file
(``<trail_dir>/seed-<seed>.jsonl``, chain ``policy-kernel-ray/seed-<seed>``: the same bytes whichever worker
ran it). The driver then verifies every trail from disk with its own host (``verify_trail``: the hash chain,
the signed checkpoints, the final seal) and checks that the verified head is the head the worker reported, and
aggregates violations per worker and in total.

Ray is imported lazily: without it, calling :func:`run_governed_rollouts` raises :class:`MissingDependency`
naming the ``policy-kernel[ray]`` extra. Works offline: a local Ray (``ray.init(num_cpus=2,
include_dashboard=False)``) is started when none is running, and shut down at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence, cast

from .agents import AgentConfig, QLearningAgent
from .episodes import EpisodeRecord, EpisodeStats, aggregate, merge_counts, task_count, train_episodes
from .errors import PolicyKernelError

__all__ = [
    "MissingDependency",
    "RolloutError",
    "RolloutRun",
    "RolloutSummary",
    "ShardSummary",
    "TrailCheck",
    "WorkerSummary",
    "main",
    "render_summary",
    "run_governed_rollouts",
    "verify_trails",
]

SUMMARY_SCHEMA = "policy-kernel/ray-rollouts@1"


class MissingDependency(PolicyKernelError, ImportError):
    """An optional dependency (Ray) is not installed."""

    def __init__(self, message: str) -> None:
        """The error, code ``missing_dependency``."""
        PolicyKernelError.__init__(self, "missing_dependency", message)


class RolloutError(PolicyKernelError, RuntimeError):
    """A worker failed: names the worker and seed; ``summary`` holds what the other shards did."""

    def __init__(self, message: str, failures: Sequence[tuple[int, int, str]], kept_trails: Sequence[str]) -> None:
        """The error, code ``rollout_failed``; ``failures`` are (worker, seed, reason)."""
        PolicyKernelError.__init__(self, "rollout_failed", message)
        self.failures = tuple(failures)
        self.kept_trails = tuple(kept_trails)


def _import_ray() -> Any:
    try:
        import ray  # noqa: PLC0415 (optional dependency, imported on first use)
    except ImportError as error:
        raise MissingDependency(
            "policy_kernel.ray needs Ray, which is not installed: pip install 'policy-kernel[ray]' (or pip install 'ray[default]>=2.9')"
        ) from error
    return ray


@dataclass(frozen=True)
class TrailCheck:
    """One shard's trail as the driver verified it."""

    seed: int
    path: str
    entries: int
    head: str | None
    verified: bool
    """The file verified (chain, signatures, sealed) and its head is the head the worker reported."""
    status: str
    """``sealed``, ``broken``, ``unsealed``, ``head_mismatch`` or ``error``."""
    message: str

    def to_json(self) -> dict[str, Any]:
        """The check as a JSON object."""
        return {"seed": self.seed, "path": self.path, "entries": self.entries, "head": self.head, "verified": self.verified, "status": self.status, "message": self.message}


@dataclass(frozen=True)
class ShardSummary:
    """What one seed's rollouts did (independent of which worker ran them)."""

    seed: int
    stats: EpisodeStats
    """Over every episode of the shard."""
    trail_entries: int
    trail_head: str | None
    trail_path: str

    def to_json(self) -> dict[str, Any]:
        """The shard as a JSON object."""
        return {"seed": self.seed, "stats": self.stats.to_json(), "trail": {"entries": self.trail_entries, "head": self.trail_head, "file": Path(self.trail_path).name}}


@dataclass(frozen=True)
class WorkerSummary:
    """One worker's share: its seeds, episodes and violations."""

    worker: int
    seeds: tuple[int, ...]
    episodes: int
    violations: int
    """Violations of the real decisions on every action the worker's agents proposed."""
    violations_by_policy: Mapping[str, int]
    executed_denied: int
    trails_verified: bool

    def to_json(self) -> dict[str, Any]:
        """The worker as a JSON object."""
        return {
            "worker": self.worker,
            "seeds": list(self.seeds),
            "episodes": self.episodes,
            "violations": self.violations,
            "violationsByPolicy": dict(self.violations_by_policy),
            "executedDenied": self.executed_denied,
            "trailsVerified": self.trails_verified,
        }


@dataclass(frozen=True)
class RolloutSummary:
    """The merged result. ``to_json(with_workers=False)`` is identical for the same seeds whatever the worker count."""

    governed: bool
    episodes_per_seed: int
    shards: tuple[ShardSummary, ...]
    """Ordered by seed."""
    total: EpisodeStats
    """Over every episode of every shard, in seed order."""
    violations: int
    """Total violations (sum of ``total.violations_by_policy``)."""
    trails: tuple[TrailCheck, ...]
    """Ordered by seed."""
    workers: tuple[WorkerSummary, ...] = field(default=())

    @property
    def all_trails_verified(self) -> bool:
        """Whether every shard's trail verified."""
        return all(t.verified for t in self.trails)

    def to_json(self, with_workers: bool = True) -> dict[str, Any]:
        """The summary as a JSON object; without ``workers`` (and trail paths) it depends only on the seeds."""
        out: dict[str, Any] = {
            "schema": SUMMARY_SCHEMA,
            "governed": self.governed,
            "episodesPerSeed": self.episodes_per_seed,
            "seeds": [s.seed for s in self.shards],
            "shards": [s.to_json() for s in self.shards],
            "total": self.total.to_json(),
            "violations": self.violations,
            "allTrailsVerified": self.all_trails_verified,
        }
        if with_workers:
            out["workers"] = [w.to_json() for w in self.workers]
            out["trails"] = [t.to_json() for t in self.trails]
        return out


@dataclass(frozen=True)
class RolloutRun:
    """A summary and the run's wall-clock figures (kept apart: the summary is deterministic, these are not)."""

    summary: RolloutSummary
    num_workers: int
    ray_start_s: float
    """Time to start Ray (0 when it was already running)."""
    workers_start_s: float
    """Time until every worker's host was ready."""
    rollouts_s: float
    """Time the shards took, from the first submitted to the last returned."""
    verify_s: float

    @property
    def rollouts_per_s(self) -> float:
        """Episodes per second over the rollout phase."""
        return self.summary.total.episodes / self.rollouts_s if self.rollouts_s > 0 else 0.0

    @property
    def steps_per_s(self) -> float:
        """Env steps (proposed actions) per second over the rollout phase."""
        return self.summary.total.proposed_actions / self.rollouts_s if self.rollouts_s > 0 else 0.0

    def timing_json(self) -> dict[str, Any]:
        """The figures as a JSON object."""
        return {
            "numWorkers": self.num_workers,
            "rayStartS": round(self.ray_start_s, 3),
            "workersStartS": round(self.workers_start_s, 3),
            "rolloutsS": round(self.rollouts_s, 3),
            "verifyS": round(self.verify_s, 3),
            "rolloutsPerS": round(self.rollouts_per_s, 1),
            "stepsPerS": round(self.steps_per_s, 1),
        }


@dataclass(frozen=True)
class _ShardResult:
    """What a worker hands back for one seed (pickled by Ray)."""

    seed: int
    records: tuple[EpisodeRecord, ...]
    trail_path: str
    trail_entries: int
    trail_head: str | None
    trail_verified: bool


class _RolloutWorker:
    """A Ray actor's state: its own host process, reused by every shard the actor runs."""

    def __init__(self, worker: int, cli: Sequence[str], kernel_args: Sequence[str]) -> None:
        self.worker = worker
        self._cli = tuple(cli)
        self._kernel_args = tuple(kernel_args)
        self.host = self._start_host()

    def _start_host(self) -> Any:
        from .host import Host

        return Host(self._kernel_args, cli=self._cli)

    def ready(self) -> int:
        """The host's pid (the driver waits on this before timing the rollouts)."""
        return int(self.host.pid)

    def run_shard(self, seed: int, episodes: int, governed: bool, trail_path: str, signing_key: str | None, reward_config: Mapping[str, Any] | None, agent: AgentConfig) -> _ShardResult:
        """Trains a fresh agent for ``episodes`` on a new env seeded with ``seed``; closes (and seals) the env's trail."""
        from . import GovernedSQLEnv

        if self.host.closed:
            # The host died in an earlier shard (that shard was reported): this one gets a new host.
            self.host = self._start_host()
        env = GovernedSQLEnv(
            governed=governed,
            reward_config=dict(reward_config) if reward_config is not None else None,
            trail_path=trail_path,
            chain_id=f"policy-kernel-ray/seed-{seed}",
            signing_key=signing_key,
            host=self.host,
        )
        try:
            import numpy as np

            n_actions = int(cast(Any, env.action_space).n)
            learner = QLearningAgent(task_count(env), n_actions, agent, np.random.default_rng([seed, 0x5241]))
            records = train_episodes(env, learner, episodes, seed)
        finally:
            env.close()
        info = env.trail_info
        if info is None:
            raise PolicyKernelError("host_error", f"seed {seed}: the host did not report the closed trail of {trail_path}")
        return _ShardResult(seed, tuple(records), trail_path, int(info.entries), info.head, bool(info.verified))

    def close(self) -> None:
        """Stops the worker's host."""
        self.host.close()


def _check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    out = []
    for index, seed in enumerate(seeds):
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise PolicyKernelError("invalid_config", f"seeds[{index}]: expected a non-negative integer, got {seed!r}", "seeds", "non-negative integers")
        out.append(seed)
    if not out:
        raise PolicyKernelError("invalid_config", "seeds: expected at least one seed, got none", "seeds", "a non-empty list of seeds")
    if len(set(out)) != len(out):
        raise PolicyKernelError("invalid_config", f"seeds: expected distinct seeds (one shard and one trail each), got {out}", "seeds", "distinct seeds")
    return tuple(sorted(out))


def verify_trails(paths: Sequence[str], *, heads: Mapping[str, str | None] | None = None, public_key: str | None = None, host: Any = None, seeds: Sequence[int] | None = None) -> list[TrailCheck]:
    """Verifies trail files with the host's ``verify_trail`` (as ``policy-kernel verify --json``).

    ``heads`` maps a path to the head its writer reported: a trail that verifies but ends elsewhere (a
    forged chain re-signed with a key beside it) is reported as ``head_mismatch``. ``public_key`` is the
    key file to verify with; the ``<trail>.pub`` beside each trail when None.
    """
    from .host import Host

    own = host is None
    live = Host() if own else host
    out: list[TrailCheck] = []
    try:
        for index, path in enumerate(paths):
            seed = seeds[index] if seeds is not None else index
            params: dict[str, Any] = {"path": str(path)}
            if public_key is not None:
                params["publicKey"] = public_key
            try:
                report = live.request("verify_trail", **params)
            except PolicyKernelError as error:
                out.append(TrailCheck(seed, str(path), 0, None, False, "error", f"{path}: {error}"))
                continue
            status = str(report.get("status", "error"))
            head = report.get("head")
            entries = int(report.get("entries", 0) or 0)
            message = str(report.get("message", ""))
            if status == "broken":
                # As `policy-kernel verify` prints it: the first bad line (1-based) and the reason.
                message = f"{path}: line {report.get('line')}: {report.get('reason')}: {message}"
            elif status != "sealed":
                message = f"{path}: {status}: {message}"
            verified = status == "sealed"
            if verified and heads is not None and heads.get(str(path)) != head:
                verified, status = False, "head_mismatch"
                message = f"{path}: verifies, but its head {head} is not the head {heads.get(str(path))} the worker reported"
            out.append(TrailCheck(seed, str(path), entries, head, verified, status, message))
    finally:
        if own:
            live.close()
    return out


def run_governed_rollouts(
    seeds: Sequence[int],
    episodes_per_seed: int,
    num_workers: int,
    governed: bool = True,
    trail_dir: str | os.PathLike[str] = "rollout-trails",
    *,
    reward_config: Mapping[str, Any] | None = None,
    agent_config: AgentConfig | None = None,
    signing_key: str | None = None,
    kernel_args: Sequence[str] = (),
    cli: Sequence[str] | None = None,
    ray_init: Mapping[str, Any] | None = None,
    host: Any = None,
) -> RolloutRun:
    """Runs one shard per seed across ``num_workers`` Ray actors and merges their summaries by seed.

    Each actor owns a host (``cli``, default :func:`policy_kernel.find_cli`, started with ``kernel_args``);
    there are at most as many actors as seeds;
    each shard streams its trail to ``<trail_dir>/seed-<seed>.jsonl`` (a new file; the folder is created).
    After the rollouts the driver verifies every trail (``signing_key``'s public half is not known to the
    driver, so the ``.pub`` beside each trail is used, cross-checked with the head the worker reported).
    ``host`` is the driver's own host for that verification (one is started and closed when None; never a
    worker's). A failed shard raises :class:`RolloutError` naming the worker and seed after every other shard finished;
    the trails already written are kept. Ray is started locally (``ray_init`` overrides
    ``num_cpus=2, include_dashboard=False``) when it is not running, and shut down afterwards.
    """
    ray = _import_ray()
    from . import find_cli

    ordered = _check_seeds(seeds)
    for name, value in (("episodes_per_seed", episodes_per_seed), ("num_workers", num_workers)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise PolicyKernelError("invalid_config", f"{name}: expected a positive integer, got {value!r}", name, "a positive integer")
    # A worker without a shard would start a host for nothing.
    num_workers = min(num_workers, len(ordered))
    agent = agent_config if agent_config is not None else AgentConfig()
    command = tuple(cli) if cli is not None else tuple(find_cli())
    folder = Path(trail_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {seed: str((folder / f"seed-{seed}.jsonl").resolve()) for seed in ordered}
    existing = [p for p in paths.values() if os.path.exists(p)]
    if existing:
        raise PolicyKernelError("io_error", f"{existing[0]}: a trail is never overwritten; give a new or empty trail_dir", "trail_dir", "a folder without seed-<seed>.jsonl trails")

    started_ray = False
    t0 = time.perf_counter()
    if not ray.is_initialized():
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline: no usage report
        options: dict[str, Any] = {"num_cpus": 2, "include_dashboard": False, "log_to_driver": False}
        options.update(ray_init or {})
        ray.init(**options)
        started_ray = True
    ray_start_s = time.perf_counter() - t0

    # No CPU reserved per actor: the work happens in each actor's node host, a process Ray does not
    # schedule; reserving one would make more workers than CPUs wait forever instead of sharing.
    Actor = ray.remote(num_cpus=0, max_restarts=0)(_RolloutWorker)
    actors: list[Any] = []
    try:
        t1 = time.perf_counter()
        actors = [Actor.remote(w, command, tuple(kernel_args)) for w in range(num_workers)]
        try:
            ray.get([a.ready.remote() for a in actors])
        except Exception as error:  # noqa: BLE001 (any start failure is reported with its worker)
            raise RolloutError(f"a worker's host did not start: {_reason(error)}", [], []) from error
        workers_start_s = time.perf_counter() - t1

        t2 = time.perf_counter()
        assignment = {seed: index % num_workers for index, seed in enumerate(ordered)}
        futures = {
            seed: actors[assignment[seed]].run_shard.remote(seed, episodes_per_seed, governed, paths[seed], signing_key, reward_config, agent)
            for seed in ordered
        }
        results: dict[int, _ShardResult] = {}
        failures: list[tuple[int, int, str]] = []
        for seed, future in futures.items():
            try:
                results[seed] = ray.get(future)
            except Exception as error:  # noqa: BLE001 (a worker's failure of any kind is named with its seed)
                failures.append((assignment[seed], seed, _reason(error)))
        rollouts_s = time.perf_counter() - t2
    finally:
        for actor in actors:
            try:
                ray.get(actor.close.remote(), timeout=30)
            except Exception:  # noqa: BLE001 (a dead actor's host exits on its stdin EOF)
                pass
            ray.kill(actor)
        if started_ray:
            ray.shutdown()

    if failures:
        kept = [paths[s] for s in ordered if os.path.exists(paths[s])]
        worker, seed, reason = failures[0]
        more = "" if len(failures) == 1 else f" (and {len(failures) - 1} more shard(s) failed)"
        raise RolloutError(f"worker {worker} failed on seed {seed}: {reason}{more}; the trails written so far are kept in {folder}", failures, kept)

    t3 = time.perf_counter()
    checks = _verify(ordered, paths, results, command, kernel_args, host)
    verify_s = time.perf_counter() - t3
    summary = _merge(governed, episodes_per_seed, ordered, results, checks, assignment, num_workers)
    return RolloutRun(summary, num_workers, ray_start_s, workers_start_s, rollouts_s, verify_s)


def _verify(ordered: Sequence[int], paths: Mapping[int, str], results: Mapping[int, _ShardResult], cli: Sequence[str], kernel_args: Sequence[str], host: Any) -> list[TrailCheck]:
    from .host import Host

    heads = {paths[s]: results[s].trail_head for s in ordered}
    if host is not None:
        return verify_trails([paths[s] for s in ordered], heads=heads, host=host, seeds=list(ordered))
    with Host(tuple(kernel_args), cli=tuple(cli)) as own:
        return verify_trails([paths[s] for s in ordered], heads=heads, host=own, seeds=list(ordered))


def _reason(error: BaseException) -> str:
    """A Ray error's cause in one line (RayTaskError wraps the worker's exception and its traceback)."""
    cause = getattr(error, "cause", None)
    inner = cause if isinstance(cause, BaseException) else error
    text = str(inner).strip().splitlines()
    return f"{type(inner).__name__}: {text[-1] if text else ''}".strip()


def _merge(
    governed: bool,
    episodes_per_seed: int,
    ordered: Sequence[int],
    results: Mapping[int, _ShardResult],
    checks: Sequence[TrailCheck],
    assignment: Mapping[int, int],
    num_workers: int,
) -> RolloutSummary:
    shards = tuple(
        ShardSummary(seed, aggregate(results[seed].records), results[seed].trail_entries, results[seed].trail_head, results[seed].trail_path) for seed in ordered
    )
    every = [record for seed in ordered for record in results[seed].records]
    total = aggregate(every)
    by_seed = {c.seed: c for c in checks}
    workers = []
    for w in range(num_workers):
        mine = [s for s in shards if assignment[s.seed] == w]
        by_policy = merge_counts([s.stats.violations_by_policy for s in mine])
        workers.append(
            WorkerSummary(
                worker=w,
                seeds=tuple(s.seed for s in mine),
                episodes=sum(s.stats.episodes for s in mine),
                violations=sum(by_policy.values()),
                violations_by_policy=by_policy,
                executed_denied=sum(s.stats.executed_denied for s in mine),
                trails_verified=all(by_seed[s.seed].verified for s in mine),
            )
        )
    return RolloutSummary(
        governed=governed,
        episodes_per_seed=episodes_per_seed,
        shards=shards,
        total=total,
        violations=sum(total.violations_by_policy.values()),
        trails=tuple(checks),
        workers=tuple(workers),
    )


def render_summary(run: RolloutRun) -> str:
    """The merged summary as text: per worker, the total, the trails, then the wall-clock figures."""
    s = run.summary
    out = [
        f"policy_kernel.ray: {len(s.shards)} seeds x {s.episodes_per_seed} episodes on {run.num_workers} worker(s), {'governed' if s.governed else 'ungoverned'}",
        "",
        f"{'worker':<8}{'seeds':<24}{'episodes':>9}{'violations':>12}{'executed denied':>17}{'trails':>8}",
    ]
    for w in s.workers:
        seeds = ",".join(str(x) for x in w.seeds)
        out.append(f"{w.worker:<8}{seeds[:23]:<24}{w.episodes:>9}{w.violations:>12}{w.executed_denied:>17}{'ok' if w.trails_verified else 'FAILED':>8}")
    t = s.total
    out.append(f"{'total':<8}{'':<24}{t.episodes:>9}{s.violations:>12}{t.executed_denied:>17}{'ok' if s.all_trails_verified else 'FAILED':>8}")
    out += ["", "violations per policy (attempted):"]
    out += [f"  {policy:<40}{count:>8}" for policy, count in t.violations_by_policy.items()] or ["  none"]
    out += ["", f"attempted-violation rate {t.attempted_violation_rate * 100:.1f}%, task success {t.success_rate * 100:.1f}%, mean reward {t.mean_reward:.2f}", ""]
    out += [f"trail {Path(c.path).name}: {c.status}, {c.entries} entries" + ("" if c.verified else f": {c.message}") for c in s.trails]
    f = run.timing_json()
    out += ["", f"timing: Ray start {f['rayStartS']} s, workers ready {f['workersStartS']} s, rollouts {f['rolloutsS']} s ({f['rolloutsPerS']} episodes/s, {f['stepsPerS']} steps/s), verify {f['verifyS']} s"]
    return "\n".join(out) + "\n"


def _seed_list(text: str) -> list[int]:
    """``1,2,5`` or ``1-8`` (inclusive) or a mix."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            seeds += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected seeds such as 1,2,3 or 1-8, got {text!r}") from None
    return seeds


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m policy_kernel.ray``: governed rollouts on a local Ray; exit 0 when every trail verifies, else 1."""
    parser = argparse.ArgumentParser(prog="python -m policy_kernel.ray", description="Governed rollouts of GovernedSQL-v0 across Ray workers.")
    parser.error = lambda message: parser.exit(1, f"{parser.prog}: error: {message}\n")  # type: ignore[method-assign]
    parser.add_argument("--seeds", type=_seed_list, default=[1, 2, 3, 4], help="seeds, one shard each: 1,2,3 or 1-8 (default 1-4)")
    parser.add_argument("--episodes", type=int, default=100, help="episodes per seed (default 100)")
    parser.add_argument("--workers", type=int, default=2, help="Ray workers, each with its own host (default 2)")
    parser.add_argument("--trail-dir", required=True, help="new folder for the trails (seed-<seed>.jsonl)")
    parser.add_argument("--ungoverned", action="store_true", help="the kernel only observes (the ungoverned arm)")
    parser.add_argument("--json", action="store_true", help="print {summary, timing} as JSON")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        run = run_governed_rollouts(args.seeds, args.episodes, args.workers, governed=not args.ungoverned, trail_dir=args.trail_dir)
    except PolicyKernelError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(json.dumps({"summary": run.summary.to_json(), "timing": run.timing_json()}, sort_keys=True) + "\n")
    else:
        sys.stdout.write(render_summary(run))
    return 0 if run.summary.all_trails_verified else 1


if __name__ == "__main__":
    sys.exit(main())
