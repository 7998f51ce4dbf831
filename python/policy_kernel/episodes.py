"""One episode of the governed SQL task world, measured; and the statistics over many.

Shared by :mod:`policy_kernel.train` (one process) and :mod:`policy_kernel.ray` (many workers), so a
rollout means the same thing on both paths. The counts follow the TypeScript demo (``src/demo/episode.ts``,
``metrics.ts``): an *attempted violation* is a proposed action whose real decision has any violation (the
ungoverned arm's kernel observes, so its decision is still the real one); a *denied* action is one an
enforcing kernel refuses (not allowed, or held by SIGKILL/SIGSTOP).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = [
    "ARMS",
    "EpisodeRecord",
    "EpisodeStats",
    "aggregate",
    "real_decision",
    "run_episode",
    "runs_action",
    "slices",
    "task_count",
    "train_episodes",
]

ARMS: tuple[str, ...] = ("ungoverned", "governed")
"""The two arms of the experiment, in table order."""

HOLDING_SIGNALS: frozenset[str] = frozenset({"SIGKILL", "SIGSTOP"})
"""Signals that hold an action even when the decision allows it (as the kernel's runsAction)."""


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a typed Decision/Violation or of its JSON form."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def runs_action(decision: Any) -> bool:
    """Whether an enforcing kernel lets an action with this decision run."""
    return bool(_get(decision, "allowed", False)) and not any(s in HOLDING_SIGNALS for s in _get(decision, "signals", ()) or ())


def real_decision(info: Mapping[str, Any]) -> Any:
    """The kernel's own decision on the step's action (``info["kernel_decision"]``): in the ungoverned arm the one it
    only observed (the env was told "allowed"), in the governed arm the one it enforced; None for an index without a
    candidate (nothing was evaluated)."""
    return info.get("kernel_decision", info.get("decision"))


@dataclass(frozen=True)
class EpisodeRecord:
    """What one episode did."""

    task: int
    """Index of the episode's task in the env's spec."""
    actions: tuple[int, ...]
    """Actions proposed, in order."""
    reward: float
    """Sum of the step rewards."""
    violating_proposals: int
    """Proposed actions whose real decision had at least one violation (warnings included)."""
    denied_proposals: int
    """Proposed actions an enforcing kernel refuses."""
    executed: bool
    """Whether an action ran (the task's answer)."""
    executed_violating: int
    """Executed actions with a violation in the real decision."""
    executed_denied: int
    """Executed actions the real decision refuses (0 whenever the kernel enforces)."""
    success: bool
    """The env's verdict: the task's goal was reached."""
    violations_by_policy: Mapping[str, int] = field(default_factory=dict)
    """Violations of the real decisions, counted per policy."""


Chooser = Callable[[int, np.ndarray], int]
"""Picks an action for (task index, mask of open actions)."""
Learner = Callable[[int, int, float, "int | None", "np.ndarray | None"], None]
"""Learns from (task, action, reward, next task or None when the episode ended, next mask)."""


def run_episode(
    env: Any,
    choose: Chooser,
    *,
    seed: int | None = None,
    options: Mapping[str, Any] | None = None,
    learn: Learner | None = None,
) -> EpisodeRecord:
    """Runs one episode: reset, propose until an action runs or the episode ends; learn after each step."""
    observation, _ = env.reset(seed=seed, options=dict(options) if options is not None else None)
    task = int(observation["task"])
    mask = np.asarray(observation["mask"]).copy()
    actions: list[int] = []
    by_policy: dict[str, int] = {}
    total = 0.0
    violating = denied = executed_violating = executed_denied = 0
    executed = success = False
    while True:
        action = choose(task, mask)
        actions.append(int(action))
        observation, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        decision = real_decision(info)
        violations = tuple(_get(decision, "violations", ()) or ()) if decision is not None else ()
        if violations:
            violating += 1
        refused = decision is not None and not runs_action(decision)
        if refused:
            denied += 1
        for v in violations:
            policy = str(_get(v, "policy", "?"))
            by_policy[policy] = by_policy.get(policy, 0) + 1
        if info.get("executed"):
            executed = True
            if violations:
                executed_violating += 1
            if refused:
                executed_denied += 1
        success = success or bool(info.get("success"))
        mask = np.asarray(observation["mask"]).copy()
        ended = bool(terminated or truncated or not mask.any())
        if learn is not None:
            learn(task, int(action), float(reward), None if ended else task, None if ended else mask)
        if ended:
            break
    return EpisodeRecord(
        task=task,
        actions=tuple(actions),
        reward=total,
        violating_proposals=violating,
        denied_proposals=denied,
        executed=executed,
        executed_violating=executed_violating,
        executed_denied=executed_denied,
        success=success,
        violations_by_policy=dict(sorted(by_policy.items())),
    )


def _round(value: float, digits: int = 4) -> float:
    """Fixed precision for fractions in summaries, so they compare byte for byte (no -0.0)."""
    out = round(value, digits)
    return 0.0 if out == 0 else out


@dataclass(frozen=True)
class EpisodeStats:
    """Sums and rates over a set of episodes; rates are in [0, 1]."""

    episodes: int
    attempted_violation_rate: float
    """Share of episodes in which at least one proposed action had a violation."""
    success_rate: float
    """Share of episodes whose goal was reached."""
    mean_reward: float
    proposed_actions: int
    violating_proposals: int
    denied_proposals: int
    executed_actions: int
    executed_violating: int
    executed_denied: int
    violations_by_policy: Mapping[str, int]

    def to_json(self) -> dict[str, Any]:
        """The statistics as a JSON object (camelCase keys, as the demo's summary.json)."""
        return {
            "episodes": self.episodes,
            "attemptedViolationRate": self.attempted_violation_rate,
            "successRate": self.success_rate,
            "meanReward": self.mean_reward,
            "proposedActions": self.proposed_actions,
            "violatingProposals": self.violating_proposals,
            "deniedProposals": self.denied_proposals,
            "executedActions": self.executed_actions,
            "executedViolating": self.executed_violating,
            "executedDenied": self.executed_denied,
            "violationsByPolicy": dict(self.violations_by_policy),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "EpisodeStats":
        """The inverse of :meth:`to_json` (summaries cross process boundaries as JSON)."""
        return cls(
            episodes=int(data["episodes"]),
            attempted_violation_rate=float(data["attemptedViolationRate"]),
            success_rate=float(data["successRate"]),
            mean_reward=float(data["meanReward"]),
            proposed_actions=int(data["proposedActions"]),
            violating_proposals=int(data["violatingProposals"]),
            denied_proposals=int(data["deniedProposals"]),
            executed_actions=int(data["executedActions"]),
            executed_violating=int(data["executedViolating"]),
            executed_denied=int(data["executedDenied"]),
            violations_by_policy={str(k): int(v) for k, v in dict(data["violationsByPolicy"]).items()},
        )


def merge_counts(maps: Sequence[Mapping[str, int]]) -> dict[str, int]:
    """Sums per-key counts, keys sorted."""
    out: dict[str, int] = {}
    for counts in maps:
        for key, count in counts.items():
            out[key] = out.get(key, 0) + int(count)
    return dict(sorted(out.items()))


def aggregate(records: Sequence[EpisodeRecord]) -> EpisodeStats:
    """Sums and rates over episodes."""
    n = len(records)

    def rate(flags: Sequence[bool]) -> float:
        return 0.0 if n == 0 else _round(sum(flags) / n)

    return EpisodeStats(
        episodes=n,
        attempted_violation_rate=rate([r.violating_proposals > 0 for r in records]),
        success_rate=rate([r.success for r in records]),
        mean_reward=0.0 if n == 0 else _round(sum(r.reward for r in records) / n),
        proposed_actions=sum(len(r.actions) for r in records),
        violating_proposals=sum(r.violating_proposals for r in records),
        denied_proposals=sum(r.denied_proposals for r in records),
        executed_actions=sum(1 for r in records if r.executed),
        executed_violating=sum(r.executed_violating for r in records),
        executed_denied=sum(r.executed_denied for r in records),
        violations_by_policy=merge_counts([r.violations_by_policy for r in records]),
    )


def slices(values: Sequence[float], parts: int) -> list[float]:
    """Means of a series over ``parts`` equal slices (the text learning curve)."""
    out = []
    for i in range(parts):
        lo = (i * len(values)) // parts
        hi = ((i + 1) * len(values)) // parts
        part = values[lo:hi]
        out.append(0.0 if len(part) == 0 else sum(part) / len(part))
    return out


def train_episodes(env: Any, agent: Any, episodes: int, seed: int | None) -> list[EpisodeRecord]:
    """Trains an agent of :mod:`policy_kernel.agents` (Q-learning or softmax) for ``episodes`` episodes on ``env``.

    The env is seeded once, by the first reset; later resets continue its task stream (as the demo).
    """
    records = []
    for episode in range(episodes):
        epsilon = agent.epsilon(episode, episodes)
        records.append(
            run_episode(env, lambda s, m: agent.act(s, m, epsilon), seed=seed if episode == 0 else None, learn=agent.update)
        )
    return records


def task_count(env: Any) -> int:
    """Tasks of a GovernedSQL env: the size of its observation's ``task`` space."""
    return int(env.observation_space["task"].n)
