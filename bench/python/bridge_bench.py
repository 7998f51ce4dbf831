"""`make bench`, Python side: what a step and a decision cost through the stdio bridge.

Rows (ids are stable; figures go into bench/results.json under "python", merged, and are printed):
  py_env_step            one GovernedSQLEnv.step through the host (a reset when an episode ended)
  py_sync_vector_<N>     SyncVectorEnv over N GovernedSQLEnv proxies sharing one host, per env-step
  py_vector_<N>          GovernedSQLVectorEnv(N): all N env-steps in one batch message, per env-step
  py_kernel_evaluate     Kernel.evaluate, one decision per request
  py_kernel_evaluate_batch  Kernel.evaluate_batch, per decision
Rows are measured side by side in alternating rounds, as the Node bench does, so ratios between
them are comparable on a shared machine; each figure is the median over rounds.

usage: python bench/python/bridge_bench.py [--quick] [--out bench/results.json] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
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
class Row:
    """One measured row: µs per unit (an env-step or a decision), median over rounds."""

    id: str
    name: str
    what: str
    unit: str
    us_per_unit: float
    min_us: float
    max_us: float
    units_per_sec: float
    units: int
    rounds: int


@dataclass
class _Spec:
    id: str
    name: str
    what: str
    unit: str
    # One call runs this many units and returns nothing.
    units_per_call: int
    call: Callable[[], None]
    samples: list[float]
    units: int = 0


def _env_step_loop(env: gym.Env[Any, Any], rng: np.random.Generator) -> Callable[[], None]:
    """One env-step per call with NEXT_STEP semantics: a reset when the last step ended the episode."""
    done = [True]

    def call() -> None:
        if done[0]:
            env.reset()
            done[0] = False
            return
        _, _, terminated, truncated, _ = env.step(int(rng.integers(0, 4)))
        done[0] = terminated or truncated

    return call


def _vector_loop(envs: gym.vector.VectorEnv[Any, Any, Any], rng: np.random.Generator) -> Callable[[], None]:
    envs.reset(seed=SEED)

    def call() -> None:
        envs.step(rng.integers(0, 4, size=envs.num_envs))

    return call


def measure(specs: list[_Spec], rounds: int, round_s: float, warmup_s: float) -> list[Row]:
    """Run every spec for ``round_s`` in each of ``rounds`` alternating rounds; median µs per unit."""
    for spec in specs:
        end = time.perf_counter() + warmup_s
        while time.perf_counter() < end:
            spec.call()
    for _ in range(rounds):
        for spec in specs:
            calls = 0
            start = time.perf_counter()
            end = start + round_s
            now = start
            while now < end:
                spec.call()
                calls += 1
                now = time.perf_counter()
            spec.samples.append((now - start) * 1e6 / (calls * spec.units_per_call))
            spec.units += calls * spec.units_per_call
    rows = []
    for spec in specs:
        median = statistics.median(spec.samples)
        rows.append(
            Row(
                id=spec.id,
                name=spec.name,
                what=spec.what,
                unit=spec.unit,
                us_per_unit=median,
                min_us=min(spec.samples),
                max_us=max(spec.samples),
                units_per_sec=1e6 / median,
                units=spec.units,
                rounds=rounds,
            )
        )
    return rows


def run(quick: bool = False, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """Measure every row; returns the "python" section of bench/results.json."""
    rounds, round_s, warmup_s = (3, 0.15, 0.1) if quick else (7, 1.5, 1.0)
    rng = np.random.default_rng(SEED)
    specs: list[_Spec] = []
    closers: list[Callable[[], None]] = []
    with tempfile.TemporaryDirectory(prefix="policy-kernel-bridge-bench-") as folder:
        try:
            single = GovernedSQLEnv(seed=SEED)
            closers.append(single.close)
            specs.append(_Spec("py_env_step", "Python GovernedSQLEnv.step through the host", "env.step(int) over stdio JSON lines, one request per step (reset when an episode ends); own host", "env-step", 1, _env_step_loop(single, rng), []))
            for n in sizes:
                shared = Host()
                closers.append(shared.close)
                proxies = [GovernedSQLEnv(seed=SEED + i, host=shared) for i in range(n)]
                sync = gym.vector.SyncVectorEnv([(lambda env=env: env) for env in proxies])
                closers.insert(0, sync.close)
                specs.append(_Spec(f"py_sync_vector_{n}", f"SyncVectorEnv over {n} GovernedSQLEnv proxies", f"{n} single-env proxies sharing one host, one request per env-step", "env-step", n, _vector_loop(sync, rng), []))
                vector = GovernedSQLVectorEnv(n, seed=SEED)
                closers.append(vector.close)
                specs.append(_Spec(f"py_vector_{n}", f"GovernedSQLVectorEnv({n})", f"{n} envs in one host, all {n} env-steps (and autoresets) in one batch message", "env-step", n, _vector_loop(vector, rng), []))
            kernel = Kernel()
            closers.append(kernel.close)
            one = [0]

            def evaluate() -> None:
                kernel.evaluate(ACTIONS[one[0] % len(ACTIONS)])
                one[0] += 1

            batch = [ACTIONS[i % len(ACTIONS)] for i in range(BATCH)]
            specs.append(_Spec("py_kernel_evaluate", "Python Kernel.evaluate", f"one decision per request over the bridge ({len(ACTIONS)} actions: allowed/denied SQL, tool call, PII message)", "decision", 1, evaluate, []))
            specs.append(_Spec("py_kernel_evaluate_batch", f"Python Kernel.evaluate_batch ({BATCH})", f"{BATCH} decisions per request, same actions", "decision", BATCH, lambda: (kernel.evaluate_batch(batch), None)[1], []))
            rows = measure(specs, rounds, round_s, warmup_s)
        finally:
            for close in closers:
                close()
    by_id = {row.id: row for row in rows}
    ratios = {
        f"sync_over_vector_{n}": by_id[f"py_sync_vector_{n}"].us_per_unit / by_id[f"py_vector_{n}"].us_per_unit
        for n in sizes
    }
    ratios["evaluate_over_batch"] = by_id["py_kernel_evaluate"].us_per_unit / by_id["py_kernel_evaluate_batch"].us_per_unit
    return {
        "machine": {
            "python": platform.python_version(),
            "gymnasium": gym.__version__,
            "numpy": np.__version__,
            "policyKernel": getattr(policy_kernel, "__version__", None),
            "cli": os.environ.get("POLICY_KERNEL_CLI"),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "quick": quick,
        "rounds": rounds,
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
        lines.append(
            f"| {row.name} | `{row.id}` | {row.us_per_unit:.2f} per {row.unit} | "
            f"{row.min_us:.2f}–{row.max_us:.2f} | {row.units_per_sec:,.0f} |"
        )
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
    temporary.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    """Run the rows, print the table, merge them into the results file."""
    parser = argparse.ArgumentParser(description="policy-kernel Python bridge bench")
    parser.add_argument("--quick", action="store_true", help="short rounds (rough figures)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json", help="results file to merge into")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    section = run(quick=args.quick)
    print(f"\nPython bridge — Python {section['machine']['python']}, gymnasium {section['machine']['gymnasium']}\n")
    print(section["table"])
    print("\n" + ", ".join(f"{key} {value:.1f}x" for key, value in section["ratios"].items()))
    if not args.no_write:
        merge_into(args.out, section)
        print(f"\nmerged into {args.out} (key \"python\")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
