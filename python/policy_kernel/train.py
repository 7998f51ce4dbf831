"""Train a numpy agent on ``policy_kernel/GovernedSQL-v0``: an ungoverned arm against a governed arm.

``python -m policy_kernel.train [--episodes N] [--seed S] [--json]`` prints a table shaped like the
TypeScript demo's (``policy-kernel train``): the same tabular Q-learning agent, trained from scratch
in each arm on the same task sequence, through the environment host. The ungoverned arm's kernel only
observes (its decisions are recorded and counted, never enforced); the governed arm's kernel blocks and
penalises. Everything in the summary is deterministic for a seed (no wall-clock values), so two runs
print byte-identical JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NoReturn, Sequence

import numpy as np

from .agents import AgentConfig, QLearningAgent, SoftmaxAgent, SoftmaxConfig
from .episodes import ARMS, EpisodeRecord, EpisodeStats, aggregate, run_episode, slices, task_count, train_episodes
from .errors import PolicyKernelError

__all__ = ["ArmSummary", "TrainConfig", "TrainSummary", "build_parser", "config_from_args", "main", "render_table", "run_arm", "run_training"]

SUMMARY_SCHEMA = "policy-kernel/python-train-summary@1"
AGENT_KINDS: tuple[str, ...] = ("q-learning", "softmax")
"""The agents ``--agent`` chooses from."""


@dataclass(frozen=True)
class TrainConfig:
    """What one training run does (the demo's defaults)."""

    episodes: int = 600
    """Training episodes per arm."""
    seed: int = 42
    """Seeds the environment's task stream (first reset) and the agent's generator."""
    eval_window: int = 100
    """Episodes in the first and last windows the table compares."""
    eval_repeats: int = 5
    """Greedy evaluation episodes per task, before and after training."""
    arms: tuple[str, ...] = ARMS
    """Arms to train, in order: ``ungoverned`` (observe only) and/or ``governed`` (enforce)."""
    agent: AgentConfig = field(default_factory=AgentConfig)
    """The Q-learning agent's hyper-parameters."""
    agent_kind: str = "q-learning"
    """``q-learning`` (:class:`QLearningAgent`, the demo's) or ``softmax`` (:class:`SoftmaxAgent`, policy gradient)."""
    softmax: SoftmaxConfig = field(default_factory=SoftmaxConfig)
    """The softmax agent's hyper-parameters (with ``agent_kind="softmax"``)."""
    reward_config: Mapping[str, Any] | None = None
    """RewardConfig fields (camelCase, as in TypeScript) for both arms; the host's defaults when None."""
    trail_dir: str | None = None
    """Folder each arm's trail is streamed to (``trail-<arm>.jsonl``, a new file); in the host's memory when None."""
    signing_key: str | None = None
    """Path of an Ed25519 PKCS#8 PEM key the trails' checkpoints are signed with; a new key per trail when None."""

    def __post_init__(self) -> None:
        for name in ("episodes", "eval_window", "eval_repeats"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"TrainConfig.{name}: expected a positive integer, got {value!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"TrainConfig.seed: expected a non-negative integer, got {self.seed!r}")
        if self.agent_kind not in AGENT_KINDS:
            raise ValueError(f"TrainConfig.agent_kind: expected one of {list(AGENT_KINDS)}, got {self.agent_kind!r}")
        unknown = [arm for arm in self.arms if arm not in ARMS]
        if unknown or not self.arms:
            raise ValueError(f"TrainConfig.arms: expected a non-empty subset of {list(ARMS)}, got {list(self.arms)!r}")


@dataclass(frozen=True)
class ArmSummary:
    """Everything one arm measured (no wall-clock values)."""

    arm: str
    first_window: EpisodeStats
    last_window: EpisodeStats
    training: EpisodeStats
    greedy_before: EpisodeStats
    greedy_after: EpisodeStats
    learned_policy: tuple[tuple[str, str], ...]
    """(task id, candidate id) the trained agent picks greedily, in task order."""
    curve: Mapping[str, tuple[float, ...]]
    """Per training episode: ``attemptedViolation`` (0/1), ``success`` (0/1), ``reward``."""
    trail: Mapping[str, Any]
    """The arm's trail when closed: ``entries``, ``head``, ``verified`` (and ``path`` when streamed)."""

    def to_json(self) -> dict[str, Any]:
        """The arm as a JSON object (camelCase keys, as the demo's summary.json)."""
        return {
            "firstWindow": self.first_window.to_json(),
            "lastWindow": self.last_window.to_json(),
            "training": self.training.to_json(),
            "greedyBefore": self.greedy_before.to_json(),
            "greedyAfter": self.greedy_after.to_json(),
            "learnedPolicy": [{"task": task, "candidate": candidate} for task, candidate in self.learned_policy],
            "curve": {name: list(values) for name, values in self.curve.items()},
            # The file's name, not its path: the summary of a seed is the same wherever the run wrote.
            "trail": {("file" if k == "path" else k): (Path(v).name if k == "path" else v) for k, v in self.trail.items()},
        }


@dataclass(frozen=True)
class TrainSummary:
    """A whole run: the experiment and each arm."""

    config: TrainConfig
    tasks: tuple[Mapping[str, Any], ...]
    arms: Mapping[str, ArmSummary]

    def to_json(self) -> dict[str, Any]:
        """The run as a JSON object; ``json.dumps(..., sort_keys=True)`` of it is byte-identical for a seed."""
        c = self.config
        return {
            "schema": SUMMARY_SCHEMA,
            "experiment": {
                "seed": c.seed,
                "episodes": c.episodes,
                "evalWindow": c.eval_window,
                "evalRepeats": c.eval_repeats,
                "arms": list(c.arms),
                "agent": {"kind": c.agent_kind, **(c.agent.to_json() if c.agent_kind == "q-learning" else c.softmax.to_json())},
                "reward": dict(c.reward_config or {}),
                "tasks": [dict(t) for t in self.tasks],
            },
            "arms": {name: arm.to_json() for name, arm in self.arms.items()},
        }


EnvFactory = Callable[[str, bool, "str | None"], Any]
"""Makes an env for (arm, for_training, trail_path): a GovernedSQLEnv on the run's host."""


def _seed_stream(seed: int, label: str) -> np.random.Generator:
    """A generator for one purpose of a run: independent of the others, the same for the same seed and label."""
    return np.random.default_rng([seed, *label.encode("utf-8")])


def run_arm(arm: str, config: TrainConfig, make_env: EnvFactory) -> ArmSummary:
    """Trains one arm from scratch (fresh agent and envs) and evaluates it greedily before and after."""
    trail_path = None if config.trail_dir is None else str(Path(config.trail_dir) / f"trail-{arm}.jsonl")
    env = make_env(arm, True, trail_path)
    try:
        eval_env = make_env(arm, False, None)
    except BaseException:
        env.close()
        raise
    try:
        n_tasks = task_count(env)
        n_actions = int(env.action_space.n)
        rng = _seed_stream(config.seed, "agent")
        agent: QLearningAgent | SoftmaxAgent = (
            QLearningAgent(n_tasks, n_actions, config.agent, rng) if config.agent_kind == "q-learning" else SoftmaxAgent(n_tasks, n_actions, config.softmax, rng)
        )

        def evaluate(label: str) -> list[EpisodeRecord]:
            tie_break = _seed_stream(config.seed, label)
            records = []
            for index in range(n_tasks):
                for _ in range(config.eval_repeats):
                    records.append(run_episode(eval_env, lambda s, m: agent.greedy(s, m, tie_break), options={"task_index": index}))
            return records

        before = evaluate("eval-before")
        # Seeded once (the first reset): both arms then draw the same task sequence from the env's stream.
        records = train_episodes(env, agent, config.episodes, config.seed)
        after = evaluate("eval-after")
        tie_break = _seed_stream(config.seed, "policy")
        learned = []
        for index, task in enumerate(_tasks(env)):
            candidates = list(task["candidates"])
            mask = np.zeros(n_actions, dtype=np.int8)
            mask[: len(candidates)] = 1
            learned.append((str(task["id"]), str(candidates[agent.greedy(index, mask, tie_break)])))
    finally:
        eval_env.close()
        env.close()
    trail = _trail_json(env)
    window = min(config.eval_window, len(records))
    return ArmSummary(
        arm=arm,
        first_window=aggregate(records[:window]),
        last_window=aggregate(records[-window:]),
        training=aggregate(records),
        greedy_before=aggregate(before),
        greedy_after=aggregate(after),
        learned_policy=tuple(learned),
        curve={
            "attemptedViolation": tuple(1.0 if r.violating_proposals > 0 else 0.0 for r in records),
            "success": tuple(1.0 if r.success else 0.0 for r in records),
            "reward": tuple(round(r.reward, 4) for r in records),
        },
        trail=trail,
    )


def _tasks(env: Any) -> tuple[Mapping[str, Any], ...]:
    """The env's task list (``{id, prompt, candidates: [id...]}``, the host's spec)."""
    return tuple(env.unwrapped.tasks)


def _trail_json(env: Any) -> dict[str, Any]:
    info = getattr(env.unwrapped, "trail_info", None)
    if info is None:
        return {}
    out = {"entries": info.entries, "head": info.head, "verified": info.verified}
    if info.path is not None:
        out["path"] = info.path
    return out


def run_training(config: TrainConfig, *, host: Any = None, kernel_args: Sequence[str] = ()) -> TrainSummary:
    """Trains every arm of ``config`` on GovernedSQL-v0 through one host (started here unless given)."""
    from . import GovernedSQLEnv, Host

    own = host is None
    live = Host(kernel_args) if own else host
    try:
        if config.trail_dir is not None:
            Path(config.trail_dir).mkdir(parents=True, exist_ok=True)
            for arm in config.arms:
                path = Path(config.trail_dir) / f"trail-{arm}.jsonl"
                if path.exists():
                    raise PolicyKernelError("io_error", f"{path}: a trail is never overwritten; give a new or empty --trail-dir", "trail_dir", "a folder without trail-<arm>.jsonl")

        def make_env(arm: str, training: bool, trail_path: str | None) -> Any:
            return GovernedSQLEnv(
                governed=arm == "governed",
                reward_config=dict(config.reward_config) if config.reward_config is not None else None,
                trail_path=trail_path,
                chain_id=f"policy-kernel-python-train/{arm}/{config.seed}" if training else None,
                signing_key=config.signing_key if training else None,
                host=live,
            )

        arms = {arm: run_arm(arm, config, make_env) for arm in config.arms}
        probe = make_env(config.arms[0], False, None)
        try:
            tasks = tuple(_task_json(t) for t in _tasks(probe))
        finally:
            probe.close()
        return TrainSummary(config=config, tasks=tasks, arms=arms)
    finally:
        if own:
            live.close()


def _task_json(task: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": task["id"], "prompt": task["prompt"], "candidates": list(task["candidates"])}


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


_ROWS: tuple[tuple[str, Callable[[ArmSummary], str]], ...] = (
    ("attempted-violation rate, first {w} episodes", lambda a: _pct(a.first_window.attempted_violation_rate)),
    ("attempted-violation rate, last {w} episodes", lambda a: _pct(a.last_window.attempted_violation_rate)),
    ("attempted-violation rate, greedy after training", lambda a: _pct(a.greedy_after.attempted_violation_rate)),
    ("executed actions the kernel denies (training)", lambda a: str(a.training.executed_denied)),
    ("executed actions with any violation (training)", lambda a: str(a.training.executed_violating)),
    ("goal reached (grader's view), greedy before training", lambda a: _pct(a.greedy_before.success_rate)),
    ("goal reached (grader's view), greedy after training", lambda a: _pct(a.greedy_after.success_rate)),
    ("goal reached (grader's view), last {w} episodes", lambda a: _pct(a.last_window.success_rate)),
    ("mean reward, last {w} episodes", lambda a: f"{a.last_window.mean_reward:.2f}"),
    ("audit entries (hash chain verified)", lambda a: f"{a.trail.get('entries', 0)}{' ok' if a.trail.get('verified') else ' FAILED'}"),
)


def render_table(summary: TrainSummary) -> str:
    """The fixed-width comparison table and learning curves, as ``python -m policy_kernel.train`` prints them."""
    c = summary.config
    arms = list(summary.arms.items())
    window = min(c.eval_window, c.episodes)
    labels = [label.format(w=window) for label, _ in _ROWS]
    width = max(len(label) for label in labels)
    col = 12
    out = [
        f"policy_kernel.train: seed {c.seed}, {c.episodes} episodes per arm, {len(summary.tasks)} tasks, greedy evaluation {c.eval_repeats}x per task"
        + ("" if c.agent_kind == "q-learning" else f", agent {c.agent_kind}"),
        "",
        "metric".ljust(width) + "".join(name.rjust(col) for name, _ in arms),
        "-" * (width + col * len(arms)),
    ]
    for label, (_, value) in zip(labels, _ROWS):
        out.append(label.ljust(width) + "".join(value(a).rjust(col) for _, a in arms))
    parts = min(10, c.episodes)
    for title, key, fmt in (
        ("learning curve: goal reached", "success", "{:.2f}"),
        ("learning curve: attempted-violation rate", "attemptedViolation", "{:.2f}"),
        ("learning curve: mean reward", "reward", "{:.1f}"),
    ):
        out += ["", f"{title} (each column {round(100 / parts)}% of training):"]
        for name, a in arms:
            out.append(f"  {name.ljust(11)}" + "".join(fmt.format(x).rjust(6) for x in slices(a.curve[key], parts)))
    policies = sorted({p for _, a in arms for p in a.training.violations_by_policy})
    if policies:
        out += ["", "violations per policy (training, attempted):"]
        for p in policies:
            out.append(f"  {p.ljust(width - 2)}" + "".join(str(a.training.violations_by_policy.get(p, 0)).rjust(col) for _, a in arms))
    out += ["", "learned greedy policy (candidate):"]
    task_width = max((len(t["id"]) for t in summary.tasks), default=4) + 2
    out.append(("  " + "task".ljust(task_width) + "".join(name.ljust(24) for name, _ in arms)).rstrip())
    for index, task in enumerate(summary.tasks):
        cells = "".join((a.learned_policy[index][1] if index < len(a.learned_policy) else "").ljust(24) for _, a in arms)
        out.append(("  " + task["id"].ljust(task_width) + cells).rstrip())
    return "\n".join(out) + "\n"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, exiting 1 on a bad command line as the ``policy-kernel`` CLI does (2 means "denied" there)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m policy_kernel.train``."""
    defaults = TrainConfig()
    parser = _Parser(
        prog="python -m policy_kernel.train",
        description="Train a tabular Q-learning agent on policy_kernel/GovernedSQL-v0: ungoverned vs governed arm.",
    )
    parser.add_argument("--episodes", type=_positive_int, default=defaults.episodes, help=f"training episodes per arm (default {defaults.episodes})")
    parser.add_argument("--seed", type=_seed, default=defaults.seed, help=f"run seed (default {defaults.seed})")
    parser.add_argument("--eval-window", type=_positive_int, default=defaults.eval_window, help=f"episodes in the first/last windows (default {defaults.eval_window})")
    parser.add_argument("--eval-repeats", type=_positive_int, default=defaults.eval_repeats, help=f"greedy evaluation episodes per task (default {defaults.eval_repeats})")
    parser.add_argument("--arm", action="append", choices=list(ARMS), help="train only this arm (repeatable; default both)")
    parser.add_argument("--agent", choices=list(AGENT_KINDS), default=defaults.agent_kind, help=f"the learner (default {defaults.agent_kind}, the demo's)")
    parser.add_argument("--trail-dir", help="stream each arm's trail to <dir>/trail-<arm>.jsonl (new files)")
    parser.add_argument("--signing-key", help="Ed25519 PKCS#8 PEM the trails' checkpoints are signed with")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON instead of the table")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of a parsed command line (``build_parser().parse_args(...)``)."""
    return TrainConfig(
        episodes=args.episodes,
        seed=args.seed,
        eval_window=args.eval_window,
        eval_repeats=args.eval_repeats,
        arms=tuple(a for a in ARMS if a in args.arm) if args.arm else ARMS,
        agent_kind=args.agent,
        trail_dir=args.trail_dir,
        signing_key=args.signing_key,
    )


def main(argv: Iterable[str] | None = None) -> int:
    """Runs the command line; returns the exit code (0 ok, 1 an error; a bad command line exits 1)."""
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    try:
        summary = run_training(config_from_args(args))
    except (PolicyKernelError, ValueError, OSError) as error:
        print(f"python -m policy_kernel.train: {error}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(json.dumps(summary.to_json(), sort_keys=True, separators=(",", ":")) + "\n")
    else:
        sys.stdout.write(render_table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
