"""``GovernanceWrapper``: any Gymnasium env, each action evaluated by the kernel before the env sees it."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import gymnasium as gym

from ._convert import reply_field
from ._hosted import trail_lines_of, trail_of
from ._options import own_or_shared_host, shaping_options
from .errors import EnvClosed, HostError, InvalidConfig, ResetNeeded
from .host import Host
from .types import Decision, RewardParts, TrailInfo

ObsType = TypeVar("ObsType")
ActType = TypeVar("ActType")

ToAction = Callable[[Any], Mapping[str, Any]]
# What an executed step reports to the trail: (obs, reward, terminated, truncated, info) → {result?, success?, cost_usd?}.
Outcome = Callable[[Any, float, bool, bool, dict[str, Any]], Mapping[str, Any]]
_OUTCOME_KEYS = {"result": "result", "success": "success", "cost_usd": "costUsd", "costUsd": "costUsd"}
Context = Mapping[str, Any] | Callable[[Any], Mapping[str, Any]]


class GovernanceWrapper(
    gym.Wrapper[ObsType, ActType, ObsType, ActType],
    gym.utils.RecordConstructorArgs,
    Generic[ObsType, ActType],
):
    """Governs any env: ``to_action(action)`` maps each env action to a kernel action body, which the gate judges first.

    Denied: the inner ``step`` is not called; the last observation comes back with the governance
    penalty as reward, ``terminated`` when a critical violation ends the episode, and
    ``info["blocked"] = True``. Allowed: the inner step runs, the gate records it, and the penalty of
    any non-blocking violation (a warning) is added to the inner reward. ``context`` (a mapping, or
    a function of the env action returning one) is the trainer's trusted context. ``outcome``, given
    each executed step's results, reports ``success``, ``cost_usd`` (summed into the next checks'
    ``spentUsd``) and ``result`` to the trail. Every decision is in the gate's trail.
    ``max_episode_steps`` (default: the inner env's spec's) truncates an episode after that many
    steps, denied ones included.
    """

    def __init__(
        self,
        env: gym.Env[ObsType, ActType],
        to_action: ToAction,
        context: Context | None = None,
        reward_config: Mapping[str, Any] | None = None,
        agent_id: str = "agent",
        terminate_on_critical: bool = True,
        trail_path: str | os.PathLike[str] | None = None,
        chain_id: str | None = None,
        signing_key: str | os.PathLike[str] | None = None,
        host: Host | None = None,
        kernel_args: Sequence[str] = (),
        outcome: Outcome | None = None,
        max_episode_steps: int | None = None,
    ) -> None:
        # Not deep-copied: the host (a process) and to_action are shared by a copy made from the spec.
        gym.utils.RecordConstructorArgs.__init__(
            self,
            _disable_deepcopy=True,
            to_action=to_action,
            context=context,
            reward_config=reward_config,
            agent_id=agent_id,
            terminate_on_critical=terminate_on_critical,
            trail_path=trail_path,
            chain_id=chain_id,
            signing_key=signing_key,
            host=host,
            kernel_args=kernel_args,
            outcome=outcome,
            max_episode_steps=max_episode_steps,
        )
        gym.Wrapper.__init__(self, env)
        if max_episode_steps is None and env.spec is not None:
            max_episode_steps = env.spec.max_episode_steps
        if max_episode_steps is not None and (isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, int) or max_episode_steps < 1):
            raise InvalidConfig("invalid_config", f"{max_episode_steps!r}", "max_episode_steps", "a whole number >= 1, or None")
        # Counted here, denied steps included: the inner env's TimeLimit sees only the steps that ran,
        # so an agent stuck on a refused action would otherwise never be truncated.
        self._max_episode_steps = max_episode_steps
        self._steps = 0
        if not callable(to_action):
            raise InvalidConfig("invalid_config", f"{type(to_action).__name__}", "to_action", "a function from an env action to an action body such as {'type': 'tool_call', ...}")
        if context is not None and not (callable(context) or isinstance(context, Mapping)):
            raise InvalidConfig("invalid_config", f"{type(context).__name__}", "context", "a mapping or a function of the env action returning one")
        if outcome is not None and not callable(outcome):
            raise InvalidConfig("invalid_config", f"{type(outcome).__name__}", "outcome", "a function (obs, reward, terminated, truncated, info) -> {'success': bool, 'cost_usd': float, 'result': json}")
        self._to_action = to_action
        self._outcome = outcome
        self._context = context
        options: dict[str, Any] = {"agentId": agent_id, "terminateOnCritical": terminate_on_critical}
        options.update(shaping_options(reward_config, trail_path, chain_id, signing_key))
        self.host, self._owns_host = own_or_shared_host(host, kernel_args)
        self._gate_closed = False
        self.trail_info: TrailInfo | None = None
        try:
            made = self.host.request("make", kind="gate", options=options)
        except BaseException:
            if self._owns_host:
                self.host.close()
            raise
        self.gate: int = reply_field(made, "env", int, "make")
        self._last_obs: Any = None
        self._has_obs = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[ObsType, dict[str, Any]]:
        """Starts a gate episode (its action window and spend start again), then resets the inner env.

        The observation is remembered: a denied action returns it again.
        """
        self._check_open()
        self.host.request("reset", env=self.gate)
        obs, info = self.env.reset(seed=seed, options=options)
        self._steps = 0
        self._last_obs, self._has_obs = obs, True
        return obs, info

    def step(self, action: ActType) -> tuple[ObsType, float, bool, bool, dict[str, Any]]:
        """Judges the action, then steps the inner env only if it may run."""
        self._check_open()
        if not self._has_obs:
            raise ResetNeeded("reset_needed", "no episode in progress: call reset() before step()")
        body = self._to_action(action)
        params: dict[str, Any] = {"env": self.gate, "action": body}
        context = self._context(action) if callable(self._context) else self._context
        if context is not None:
            params["context"] = context
        check = self.host.request("check", **params)
        decision = Decision.from_json(check.get("decision"), "check.decision")
        runs = reply_field(check, "runs", bool, "check")
        terminate = reply_field(check, "terminate", bool, "check")
        penalty = float(reply_field(check, "penalty", (int, float), "check"))
        self._steps += 1
        out_of_steps = self._max_episode_steps is not None and self._steps >= self._max_episode_steps
        governance = {
            "decision": decision,
            "violations": decision.violations,
            "reward_parts": RewardParts.from_json(check.get("reward"), "check.reward") if isinstance(check.get("reward"), Mapping) else None,
            "penalty": penalty,
            "blocked": not runs,
        }
        if not runs:
            truncated = out_of_steps and not terminate
            if terminate or truncated:
                self._has_obs = False
            return self._last_obs, penalty, terminate, truncated, governance
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.host.request("record", env=self.gate, **self._recorded(obs, float(reward), bool(terminated), bool(truncated), info))
        self._last_obs = obs
        terminated = bool(terminated) or terminate
        truncated = bool(truncated) or (out_of_steps and not terminated)
        if terminated or truncated:
            self._has_obs = False
        return obs, float(reward) + penalty, terminated, truncated, {**info, **governance}

    def _recorded(self, obs: Any, reward: float, terminated: bool, truncated: bool, info: dict[str, Any]) -> dict[str, Any]:
        """The record params from ``outcome``: what the step returned, whether it succeeded, what it cost (summed into spentUsd)."""
        if self._outcome is None:
            return {}
        reported = self._outcome(obs, reward, terminated, truncated, info)
        if not isinstance(reported, Mapping):
            raise InvalidConfig("invalid_config", f"{type(reported).__name__} returned", "outcome", "a mapping with result, success or cost_usd")
        params: dict[str, Any] = {}
        for key, value in reported.items():
            if key not in _OUTCOME_KEYS:
                raise InvalidConfig("invalid_config", f"unknown key {key!r} returned", "outcome", "only result, success and cost_usd")
            params[_OUTCOME_KEYS[key]] = value
        return params

    def trail(self) -> TrailInfo:
        """The gate's trail so far: entries, head hash, file path."""
        self._check_open()
        return trail_of(self.host, self.gate)

    def trail_lines(self) -> list[dict[str, Any]]:
        """Every trail entry recorded so far, as the JSON objects the trail file holds."""
        self._check_open()
        return trail_lines_of(self.host, self.gate)

    def metrics(self) -> dict[str, Any]:
        """The gate's counters (EnvironmentMetrics)."""
        self._check_open()
        return self.host.request("metrics", env=self.gate)

    def close(self) -> None:
        """Closes the gate and its trail (verified from its file, in ``trail_info``), the inner env, and an owned host."""
        if not self._gate_closed:
            self._gate_closed = True
            try:
                if not self.host.closed:
                    self.trail_info = TrailInfo.from_json(self.host.request("close", env=self.gate))
            except HostError:
                if not self.host.closed:
                    raise
            finally:
                if self._owns_host:
                    self.host.close()
        super().close()

    def _check_open(self) -> None:
        if self._gate_closed:
            raise EnvClosed("env_closed", "the environment is closed")
