"""`make bench`, Python side: what a step and a decision cost through the stdio bridge.

Rows (ids are stable; figures go into bench/results.json under "python", merged, and are printed):
  py_host_roundtrip         one Host.request("hello"): the bridge alone (JSON line out, JSON line back)
  py_env_step               one GovernedSQLEnv step through the host (the reset after an episode counts as one)
  py_sync_vector_<N>        SyncVectorEnv over N GovernedSQLEnv proxies sharing one host, per env-step
  py_vector_<N>             GovernedSQLVectorEnv(N): all N env-steps in one batch message, per env-step
  py_sync_vector_64_light, py_vector_64_light
                            the same pair on light steps (an index with no candidate where the task
                            has one: a wasted step the kernel never sees), so the bridge dominates
  py_kernel_evaluate        Kernel.evaluate, one decision per request
  py_kernel_evaluate_batch  Kernel.evaluate_batch of 64, per decision

The single rows are measured side by side in alternating rounds, as the Node bench does. The
vector rows are measured in pairs: the SyncVectorEnv and the GovernedSQLVectorEnv get the same
seeds and the same actions, one vector step each, alternately, so the environment work is
identical and the ratio between them is what the bridge costs (median of the pairs' ratios).

usage: python bench/python/bridge_bench.py [--quick] [--out bench/results.json] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import policy_kernel
from policy_kernel import GovernedSQLEnv, GovernedSQLVectorEnv, Host, Kernel

ROOT = Path(__file__).resolve().parents[2]
SIZES = (8, 64)
SEED = 7
# A small mix of decisions: allowed and denied SQL, a tool call, a message with PII.
ACTIONS: tuple[dict[str, Any], ...] = (
    {"agentId": "bench", "action": {"type": "sql", "sql": "SELECT name FROM users WHERE id = 42"}},
    {"agentId": "bench", "action": {"type": "sql", "sql": "DELETE FROM orders"}},
    {"agentId": "bench", "action": {"type": "tool_call", "tool": "search_docs", "args": {"q": "refund"}}, "context": {"role": "support", "costUsd": 0.02}},
    {"agentId": "bench", "action": {"type": "message", "to": "customer", "text": "Your card 4111 1111 1111 1111 is on file"}},
)
BATCH = 64


@dataclass(frozen=True)
class Settings:
    """How long each phase runs."""

    rounds: int
    round_s: float
    warmup_s: float
    pair_s: float
    min_pairs: int


FULL = Settings(rounds=5, round_s=1.0, warmup_s=0.5, pair_s=12.0, min_pairs=8)
QUICK = Settings(rounds=3, round_s=0.15, warmup_s=0.1, pair_s=1.0, min_pairs=5)


@dataclass(frozen=True)
class Row:
    """One measured row: µs per unit (an env-step or a decision), the median of its samples."""

    id: str
    name: str
    what: str
    unit: str
    us_per_unit: float
    min_us: float
    max_us: float
    units_per_sec: float
    units: int
    samples: int


@dataclass
class _Spec:
    id: str
    name: str
    what: str
    unit: str
    # One call runs this many units.
    units_per_call: int
    call: Callable[[], None]
    samples: list[float] = field(default_factory=list)
    units: int = 0

    def row(self) -> Row:
        median = statistics.median(self.samples)
        return Row(self.id, self.name, self.what, self.unit, median, min(self.samples), max(self.samples), 1e6 / median, self.units, len(self.samples))


def _env_step_loop(env: gym.Env[Any, Any], rng: np.random.Generator) -> Callable[[], None]:
    """One env-step per call with NEXT_STEP semantics: the call after an episode ended is its reset."""
    done = [True]

    def call() -> None:
        if done[0]:
            env.reset()
            done[0] = False
            return
        _, _, terminated, truncated, _ = env.step(int(rng.integers(0, 4)))
        done[0] = terminated or truncated

    return call


def _given(env: gym.Env[Any, Any]) -> Callable[[], gym.Env[Any, Any]]:
    """An env factory for SyncVectorEnv that hands over an env already made (on the shared host)."""
    return lambda: env


def measure(specs: list[_Spec], settings: Settings) -> list[Row]:
    """Run every spec for ``round_s`` in each of ``rounds`` alternating rounds; median µs per unit."""
    for spec in specs:
        end = time.perf_counter() + settings.warmup_s
        while time.perf_counter() < end:
            spec.call()
    for _ in range(settings.rounds):
        for spec in specs:
            calls = 0
            start = now = time.perf_counter()
            end = start + settings.round_s
            while now < end:
                spec.call()
                calls += 1
                now = time.perf_counter()
            spec.samples.append((now - start) * 1e6 / (calls * spec.units_per_call))
            spec.units += calls * spec.units_per_call
    return [spec.row() for spec in specs]


def measure_pairs(sync: gym.vector.SyncVectorEnv, vector: GovernedSQLVectorEnv, settings: Settings, light: bool = False) -> tuple[Row, Row, float]:
    """Step the SyncVectorEnv and the GovernedSQLVectorEnv alternately with the same actions.

    Both were reset with the same seeds, so they stay in the same states and do the same work.
    ``light``: each env picks an index with no candidate when its task has one (a wasted step the
    kernel never sees, reward -1), so the bridge, not the SQL world, is most of an env-step.
    """
    n = vector.num_envs
    rng = np.random.default_rng(SEED + n + light)
    candidates = np.array([len(task.get("candidates", ())) for task in vector.sql_spec.tasks])
    suffix, what = ("_light", "; light steps (an index with no candidate where the task has one)") if light else ("", "")
    spec_sync = _Spec(f"py_sync_vector_{n}{suffix}", f"SyncVectorEnv over {n} GovernedSQLEnv proxies{' (light steps)' if light else ''}", f"{n} single-env proxies sharing one host, one request per env-step; same seeds and actions as py_vector_{n}{suffix}{what}", "env-step", n, lambda: None)
    spec_vector = _Spec(f"py_vector_{n}{suffix}", f"GovernedSQLVectorEnv({n}){' (light steps)' if light else ''}", f"{n} envs in one host, all {n} env-steps (and autoresets) in one batch message{what}", "env-step", n, lambda: None)
    ratios: list[float] = []
    obs = vector.reset(seed=SEED)[0]
    sync.reset(seed=SEED)

    def pair() -> tuple[float, float]:
        nonlocal obs
        actions = rng.integers(0, 4, size=n)
        if light:
            actions = np.where(candidates[obs["task"]] < 4, 3, actions)
        t0 = time.perf_counter()
        sync.step(actions)
        t1 = time.perf_counter()
        obs = vector.step(actions)[0]
        t2 = time.perf_counter()
        return (t1 - t0) * 1e6 / n, (t2 - t1) * 1e6 / n

    for _ in range(2):
        pair()  # warm-up
    deadline = time.perf_counter() + settings.pair_s
    while len(ratios) < settings.min_pairs or time.perf_counter() < deadline:
        a, b = pair()
        for spec, us in ((spec_sync, a), (spec_vector, b)):
            spec.samples.append(us)
            spec.units += n
        ratios.append(a / b)
    return spec_sync.row(), spec_vector.row(), statistics.median(ratios)


def run(quick: bool = False, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """Measure every row; returns the "python" section of bench/results.json."""
    settings = QUICK if quick else FULL
    rng = np.random.default_rng(SEED)
    # Three hosts: one for the single rows, one for the SyncVectorEnv's proxies, one for the vector env.
    with Host() as host, Host() as sync_host, Host() as vector_host:
        with GovernedSQLEnv(seed=SEED, host=host) as single, Kernel(host=host) as kernel:
            one = [0]

            def roundtrip() -> None:
                host.request("hello")

            def evaluate() -> None:
                kernel.evaluate(ACTIONS[one[0] % len(ACTIONS)])
                one[0] += 1

            batch = [ACTIONS[i % len(ACTIONS)] for i in range(BATCH)]

            def evaluate_batch() -> None:
                kernel.evaluate_batch(batch)

            specs = [
                _Spec("py_host_roundtrip", "Python Host.request(\"hello\")", "the bridge alone: one JSON line to the host and its reply", "request", 1, roundtrip),
                _Spec("py_env_step", "Python GovernedSQLEnv.step through the host", "env.step(int) over stdio JSON lines, one request per env-step (the reset after an episode counts as one, as in NEXT_STEP autoreset)", "env-step", 1, _env_step_loop(single, rng)),
                _Spec("py_kernel_evaluate", "Python Kernel.evaluate", f"one decision per request over the bridge ({len(ACTIONS)} actions: allowed/denied SQL, tool call, PII message)", "decision", 1, evaluate),
                _Spec("py_kernel_evaluate_batch", f"Python Kernel.evaluate_batch ({BATCH})", f"{BATCH} decisions per request, same actions", "decision", BATCH, evaluate_batch),
            ]
            singles = measure(specs, settings)
        rows = singles[:2]
        ratios: dict[str, float] = {}
        for n in sizes:
            sync = gym.vector.SyncVectorEnv([_given(GovernedSQLEnv(host=sync_host)) for _ in range(n)])
            vector = GovernedSQLVectorEnv(n, host=vector_host)
            try:
                sync_row, vector_row, ratio = measure_pairs(sync, vector, settings)
                rows += [sync_row, vector_row]
                ratios[f"sync_over_vector_{n}"] = ratio
                if n == max(sizes):
                    sync_row, vector_row, ratio = measure_pairs(sync, vector, settings, light=True)
                    light_rows = [sync_row, vector_row]
                    ratios[f"sync_over_vector_{n}_light"] = ratio
            finally:
                sync.close()
                vector.close()
        rows += light_rows + singles[2:]
    by_id = {row.id: row for row in rows}
    ratios["evaluate_over_batch"] = by_id["py_kernel_evaluate"].us_per_unit / by_id["py_kernel_evaluate_batch"].us_per_unit
    return {
        "machine": {
            "python": platform.python_version(),
            "gymnasium": gym.__version__,
            "numpy": np.__version__,
            "policyKernel": getattr(policy_kernel, "__version__", None),
            "cli": os.environ.get("POLICY_KERNEL_CLI"),
            "loadAverage": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "quick": quick,
        "settings": asdict(settings),
        "rows": [asdict(row) for row in rows],
        "ratios": ratios,
        "table": table(rows),
    }


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| row | id | µs per unit (median) | min–max µs | units/s (1 core) |",
        "|---|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(f"| {row.name} | `{row.id}` | {row.us_per_unit:.1f} per {row.unit} | {row.min_us:.1f}–{row.max_us:.1f} | {row.units_per_sec:,.0f} |")
    return "\n".join(lines)


def merge_into(path: Path, section: dict[str, Any]) -> None:
    """Write ``section`` as the "python" key of the results file, keeping every other key."""
    results: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise SystemExit(f"bridge_bench: {path} is not JSON ({error}); move it away or rerun the node bench") from None
        if not isinstance(loaded, dict):
            raise SystemExit(f"bridge_bench: {path} does not hold a JSON object; move it away or rerun the node bench")
        results = loaded
    results["python"] = section
    temporary = path.with_suffix(".json.tmp")
    # As JSON.stringify writes it (non-ASCII kept), so the Node part of the file is unchanged.
    temporary.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    """Run the rows, print the table, merge them into the results file."""
    parser = argparse.ArgumentParser(description="policy-kernel Python bridge bench")
    parser.add_argument("--quick", action="store_true", help="short rounds (rough figures)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json", help="results file to merge into")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    # Run from a checkout without POLICY_KERNEL_CLI: its own build is the host (as python/tests does).
    if "POLICY_KERNEL_CLI" not in os.environ and (ROOT / "dist" / "src" / "cli" / "main.js").exists():
        os.environ["POLICY_KERNEL_CLI"] = shlex.join(["node", str(ROOT / "dist" / "src" / "cli" / "main.js")])
    section = run(quick=args.quick)
    print(f"\nPython bridge — Python {section['machine']['python']}, gymnasium {section['machine']['gymnasium']}, load average {section['machine']['loadAverage']}\n")
    print(section["table"])
    print("\nratios: " + ", ".join(f"{key} {value:.2f}x" for key, value in section["ratios"].items()))
    if not args.no_write:
        merge_into(args.out, section)
        print(f"\nmerged into {args.out} (key \"python\")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
