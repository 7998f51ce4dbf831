"""Small numpy learning agents for the governed SQL task world (``policy_kernel/GovernedSQL-v0``).

Two agents over the same state (the task index, with a mask of the candidates still on offer):

- :class:`QLearningAgent`: tabular Q-learning as the TypeScript demo's agent (``src/demo/agent.ts``):
  optimistic initial values, epsilon decayed linearly over a fraction of training, ties broken by the
  agent's own seeded :class:`numpy.random.Generator`, never by index order.
- :class:`SoftmaxAgent`: a softmax policy over the unmasked actions, trained by REINFORCE with a
  per-task baseline (the policy-gradient alternative).

Both are deterministic for a seed: every random draw comes from the generator they are given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["AgentConfig", "QLearningAgent", "SoftmaxAgent", "SoftmaxConfig", "allowed_actions"]


def allowed_actions(mask: Sequence[int] | np.ndarray) -> np.ndarray:
    """The indices of the open (non-zero) entries of an action mask, as an int64 array."""
    array = np.asarray(mask)
    if array.ndim != 1:
        raise ValueError(f"mask: expected a 1-D array of 0/1, got shape {array.shape}")
    return np.flatnonzero(array).astype(np.int64)


@dataclass(frozen=True)
class AgentConfig:
    """Hyper-parameters of :class:`QLearningAgent` (the demo's defaults)."""

    alpha: float = 0.5
    """Learning rate."""
    gamma: float = 0.9
    """Discount of the value of the retry after a refused action."""
    epsilon_start: float = 1.0
    """Exploration rate at the first episode."""
    epsilon_end: float = 0.05
    """Exploration rate once the decay is over."""
    decay_fraction: float = 0.6
    """Fraction of the training episodes over which epsilon decays linearly."""
    initial_value: float = 15.0
    """Starting value of every action: optimistic, so an action tried a few times is not written off early."""

    def __post_init__(self) -> None:
        for name in ("alpha", "gamma", "epsilon_start", "epsilon_end", "decay_fraction"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
                raise ValueError(f"AgentConfig.{name}: expected a number in [0, 1], got {value!r}")
        if not isinstance(self.initial_value, (int, float)) or not np.isfinite(self.initial_value):
            raise ValueError(f"AgentConfig.initial_value: expected a finite number, got {self.initial_value!r}")

    def to_json(self) -> dict[str, float]:
        """The configuration as a JSON object (for run summaries)."""
        return asdict(self)


def _check_shape(n_states: int, n_actions: int) -> None:
    for name, value in (("n_states", n_states), ("n_actions", n_actions)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")


class QLearningAgent:
    """Tabular Q-learning over ``n_states`` states and ``n_actions`` actions, with action masks.

    A refused action leaves the agent in the same task with that action masked out, so
    :meth:`update` bootstraps from the best action still open (the demo's formulation).
    """

    def __init__(self, n_states: int, n_actions: int, config: AgentConfig | None = None, rng: np.random.Generator | int | None = None) -> None:
        """An agent whose values all start at ``config.initial_value``; ``rng`` (a Generator or a seed) drives exploration and ties."""
        _check_shape(n_states, n_actions)
        self.config = config if config is not None else AgentConfig()
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.q = np.full((int(n_states), int(n_actions)), float(self.config.initial_value), dtype=np.float64)

    def epsilon(self, episode: int, total: int) -> float:
        """Epsilon of training episode ``episode`` (0-based) of ``total``."""
        c = self.config
        horizon = max(1, int(total * c.decay_fraction))
        progress = min(1.0, episode / horizon)
        return c.epsilon_start + (c.epsilon_end - c.epsilon_start) * progress

    def act(self, state: int, mask: Sequence[int] | np.ndarray, epsilon: float) -> int:
        """Epsilon-greedy choice among the open actions of ``mask``."""
        allowed = self._allowed(state, mask)
        if self.rng.random() < epsilon:
            return int(allowed[self.rng.integers(len(allowed))])
        return self._best(state, allowed, self.rng)

    def greedy(self, state: int, mask: Sequence[int] | np.ndarray, tie_break: np.random.Generator | None = None) -> int:
        """The open action of highest value; ties are broken by ``tie_break`` (the agent's generator when None)."""
        return self._best(state, self._allowed(state, mask), tie_break if tie_break is not None else self.rng)

    def update(self, state: int, action: int, reward: float, next_state: int | None, next_mask: Sequence[int] | np.ndarray | None = None) -> None:
        """One Q-learning update; ``next_state`` is None when the episode ended (no bootstrap)."""
        future = 0.0
        if next_state is not None and next_mask is not None:
            open_next = allowed_actions(next_mask)
            if len(open_next) > 0:
                future = float(np.max(self.q[next_state, open_next]))
        target = float(reward) + self.config.gamma * future
        self.q[state, action] += self.config.alpha * (target - self.q[state, action])

    def table(self) -> list[list[float]]:
        """A copy of the value table as nested lists (for reports)."""
        return [[float(v) for v in row] for row in self.q]

    def _allowed(self, state: int, mask: Sequence[int] | np.ndarray) -> np.ndarray:
        allowed = allowed_actions(mask)
        if len(allowed) == 0:
            raise ValueError(f"mask: no action left for state {state}")
        if allowed[-1] >= self.q.shape[1]:
            raise ValueError(f"mask: has {len(np.asarray(mask))} entries, expected at most {self.q.shape[1]} (n_actions)")
        return allowed

    def _best(self, state: int, allowed: np.ndarray, rng: np.random.Generator) -> int:
        values = self.q[state, allowed]
        ties = allowed[values == values.max()]
        return int(ties[0]) if len(ties) == 1 else int(ties[rng.integers(len(ties))])


@dataclass(frozen=True)
class SoftmaxConfig:
    """Hyper-parameters of :class:`SoftmaxAgent`."""

    learning_rate: float = 0.2
    """Step size of the preference update."""
    baseline_rate: float = 0.1
    """Step size of the per-state running mean of returns (the baseline)."""
    temperature: float = 1.0
    """Softmax temperature: higher explores more."""

    def __post_init__(self) -> None:
        for name in ("learning_rate", "baseline_rate", "temperature"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < float("inf"):
                raise ValueError(f"SoftmaxConfig.{name}: expected a positive finite number, got {value!r}")

    def to_json(self) -> dict[str, float]:
        """The configuration as a JSON object (for run summaries)."""
        return asdict(self)


class SoftmaxAgent:
    """A softmax policy over the open actions, trained by REINFORCE with a per-state baseline.

    Call :meth:`act` for each step, :meth:`record` with each reward, and :meth:`finish_episode`
    at the end of the episode to apply the policy-gradient update.
    """

    def __init__(self, n_states: int, n_actions: int, config: SoftmaxConfig | None = None, rng: np.random.Generator | int | None = None) -> None:
        """An agent with uniform preferences; ``rng`` (a Generator or a seed) drives its sampling."""
        _check_shape(n_states, n_actions)
        self.config = config if config is not None else SoftmaxConfig()
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.preferences = np.zeros((int(n_states), int(n_actions)), dtype=np.float64)
        self.baseline = np.zeros(int(n_states), dtype=np.float64)
        self._episode: list[tuple[int, int, np.ndarray, float]] = []

    def probabilities(self, state: int, mask: Sequence[int] | np.ndarray) -> np.ndarray:
        """The policy's probabilities over all actions (0 for masked ones)."""
        allowed = allowed_actions(mask)
        if len(allowed) == 0:
            raise ValueError(f"mask: no action left for state {state}")
        logits = self.preferences[state, allowed] / self.config.temperature
        weights = np.exp(logits - logits.max())
        probs = np.zeros(self.preferences.shape[1], dtype=np.float64)
        probs[allowed] = weights / weights.sum()
        return probs

    def epsilon(self, episode: int, total: int) -> float:
        """Always 0: the policy explores by sampling (the same training loop drives both agents)."""
        return 0.0

    def act(self, state: int, mask: Sequence[int] | np.ndarray, epsilon: float = 0.0) -> int:
        """Samples an open action from the policy and remembers it for the episode's update (``epsilon`` is unused)."""
        probs = self.probabilities(state, mask)
        action = int(self.rng.choice(len(probs), p=probs))
        self._episode.append((state, action, probs, 0.0))
        return action

    def greedy(self, state: int, mask: Sequence[int] | np.ndarray, tie_break: np.random.Generator | None = None) -> int:
        """The most probable open action; ties broken by ``tie_break`` (the agent's generator when None)."""
        probs = self.probabilities(state, mask)
        allowed = allowed_actions(mask)
        ties = allowed[probs[allowed] == probs[allowed].max()]
        rng = tie_break if tie_break is not None else self.rng
        return int(ties[0]) if len(ties) == 1 else int(ties[rng.integers(len(ties))])

    def record(self, reward: float) -> None:
        """The reward of the last action :meth:`act` chose."""
        if not self._episode:
            raise ValueError("record: no action taken yet this episode (call act first)")
        state, action, probs, _ = self._episode[-1]
        self._episode[-1] = (state, action, probs, float(reward))

    def update(self, state: int, action: int, reward: float, next_state: int | None, next_mask: Sequence[int] | np.ndarray | None = None) -> None:
        """The step's reward (as :meth:`record`); the episode's update when it ended (``next_state`` None).

        The same signature as :meth:`QLearningAgent.update`, so one training loop drives either agent.
        """
        if not self._episode or self._episode[-1][:2] != (state, action):
            raise ValueError(f"update: ({state}, {action}) is not the last action act() chose this episode")
        self.record(reward)
        if next_state is None:
            self.finish_episode()

    def finish_episode(self) -> None:
        """Applies REINFORCE to every step of the episode (undiscounted return-to-go minus the baseline)."""
        ret = 0.0
        for state, action, probs, reward in reversed(self._episode):
            ret += reward
            advantage = ret - self.baseline[state]
            self.baseline[state] += self.config.baseline_rate * advantage
            gradient = -probs
            gradient[action] += 1.0
            self.preferences[state] += self.config.learning_rate * advantage * gradient
        self._episode = []

    def table(self) -> list[list[float]]:
        """A copy of the preference table as nested lists (for reports)."""
        return [[float(v) for v in row] for row in self.preferences]

    def summary(self) -> dict[str, Any]:
        """The configuration and table (for run summaries)."""
        return {"config": self.config.to_json(), "preferences": self.table()}
