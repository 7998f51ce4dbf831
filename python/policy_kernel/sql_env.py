"""``GovernedSQLEnv``: the demo's SQL task world as a Gymnasium environment, stepped in the host."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ._convert import discrete_action, reply_field, seed_json
from ._hosted import trail_lines_of, trail_of
from ._options import camel_case, own_or_shared_host, sql_make_options
from .errors import EnvClosed, HostError, InvalidConfig
from .host import Host
from .types import Decision, RewardParts, TrailInfo, Violation

ENV_ID = "policy_kernel/GovernedSQL-v0"


class _DemoDefault:
    """The row budget's default: whatever the demo uses (the host decides)."""

    def __repr__(self) -> str:
        return "DEMO_DEFAULT"


DEMO_DEFAULT: Any = _DemoDefault()


class GovernedSQLEnv(gym.Env[dict[str, Any], np.int64]):
    """The demo's SQL task world: each episode is one task; the agent picks one of its candidate statements.

    Actions are ``Discrete(4)`` (an index into the task's candidates); the observation is
    ``{"task": index of the task, "mask": 1 per candidate index still open, "step": steps taken}``.
    Governed (the default), the kernel evaluates each candidate before it runs: a refused one
    costs its penalty and does not run; a critical violation terminates; the step budget
    (``max_steps``) truncates. ``info`` carries the decision, its violations and the reward parts;
    ``kernel_decision`` is what the kernel said even when it was not enforced (``governed=False``).
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        seed: int | None = None,
        governed: bool = True,
        reward_config: Mapping[str, Any] | None = None,
        row_budget: int | None = DEMO_DEFAULT,
        trail_path: str | os.PathLike[str] | None = None,
        chain_id: str | None = None,
        signing_key: str | os.PathLike[str] | None = None,
        host: Host | None = None,
        kernel_args: Sequence[str] = (),
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise InvalidConfig("invalid_config", f"render mode {render_mode!r}: this environment does not render", "render_mode", "None")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise InvalidConfig("invalid_config", f"{type(seed).__name__} seed", "seed", "an int or None")
        options = sql_make_options(
            governed=governed,
            reward_config=reward_config,
            row_budget=row_budget,
            trail_path=trail_path,
            chain_id=chain_id,
            signing_key=signing_key,
            unset=DEMO_DEFAULT,
        )
        self.render_mode = None
        self._initial_seed = None if seed is None else int(seed)
        self._seeded = False
        self.host, self._owns_host = own_or_shared_host(host, kernel_args)
        self._closed = False
        self.trail_info: TrailInfo | None = None
        try:
            made = self.host.request("make", kind="sql", options=options)
        except BaseException:
            if self._owns_host:
                self.host.close()
            raise
        self.handle: int = reply_field(made, "env", int, "make")
        world = reply_field(made, "spec", dict, "make")
        self.host_spec: dict[str, Any] = world
        n_actions = reply_field(world, "actionCount", int, "make.spec")
        self.max_steps: int = reply_field(world, "maxSteps", int, "make.spec")
        n_tasks = reply_field(world, "taskCount", int, "make.spec")
        self.tasks: tuple[dict[str, Any], ...] = tuple(reply_field(world, "tasks", list, "make.spec"))
        self._n_actions = n_actions
        self.action_space = spaces.Discrete(n_actions)
        self.observation_space = spaces.Dict(
            {
                "task": spaces.Discrete(n_tasks),
                "mask": spaces.MultiBinary(n_actions),
                "step": spaces.Discrete(self.max_steps + 1),
            }
        )
        self.episode: int | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Starts an episode; ``seed`` (or the constructor's, on the first reset) picks the task; ``options={"task_index": i}`` names it."""
        self._check_open()
        if seed is None and not self._seeded and self._initial_seed is not None:
            seed = self._initial_seed
        self._seeded = True
        super().reset(seed=seed)
        params: dict[str, Any] = {"env": self.handle}
        if seed is not None:
            params["seed"] = seed_json(int(seed))
        if options:
            if not isinstance(options, Mapping):
                raise InvalidConfig("invalid_config", f"{type(options).__name__}", "options", "a dict such as {'task_index': 3}")
            params["options"] = {camel_case(str(k)): v for k, v in options.items()}
        result = self.host.request("reset", **params)
        info = reply_field(result, "info", dict, "reset")
        self.episode = info.get("episode") if isinstance(info.get("episode"), int) else None
        # episode is left out: Gymnasium's check_env compares the info of two resets with one seed.
        return self._observation(reply_field(result, "observation", dict, "reset")), {
            "task_id": info.get("taskId"),
            "prompt": info.get("prompt"),
            "seed": info.get("seed"),
        }

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """Proposes candidate ``action`` of the current task; the kernel decides before anything runs."""
        self._check_open()
        index = discrete_action(action, self._n_actions)
        result = self.host.request("step", env=self.handle, action=index)
        return step_result(self, result)

    def trail(self) -> TrailInfo:
        """The trail so far: entries, head hash, file path."""
        self._check_open()
        return trail_of(self.host, self.handle)

    def trail_lines(self) -> list[dict[str, Any]]:
        """Every trail entry recorded so far, as the JSON objects the trail file holds."""
        self._check_open()
        return trail_lines_of(self.host, self.handle)

    def metrics(self) -> dict[str, Any]:
        """The environment's counters (EnvironmentMetrics: episodes, steps, violations...)."""
        self._check_open()
        return self.host.request("metrics", env=self.handle)

    def close(self) -> None:
        """Closes the env and its trail (then verified from its file, in ``trail_info``); closes an owned host."""
        if self._closed:
            return
        self._closed = True
        try:
            if not self.host.closed:
                self.trail_info = TrailInfo.from_json(self.host.request("close", env=self.handle))
        except HostError:
            # The host is gone (it crashed or was closed): there is nothing left to close.
            if not self.host.closed:
                raise
        finally:
            if self._owns_host:
                self.host.close()
        super().close()

    def _check_open(self) -> None:
        if self._closed:
            raise EnvClosed("env_closed", "the environment is closed")

    def _observation(self, obs: Mapping[str, Any]) -> dict[str, Any]:
        return sql_observation(obs, self._n_actions)


def sql_observation(obs: Mapping[str, Any], n_actions: int) -> dict[str, Any]:
    """The host's sql observation as numpy values of the observation space (int64, int8 mask)."""
    task = reply_field(obs, "task", int, "observation")
    step = reply_field(obs, "step", int, "observation")
    mask = reply_field(obs, "mask", list, "observation")
    if len(mask) != n_actions or any(m not in (0, 1) or isinstance(m, bool) for m in mask):
        raise HostError(f"observation.mask: {mask!r:.80} in the host's reply (expected {n_actions} values of 0 or 1)")
    return {"task": np.int64(task), "mask": np.array(mask, dtype=np.int8), "step": np.int64(step)}


def step_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """The Python step info from the host's: snake_case keys, typed decision and violations, no episode."""
    decision = info.get("decision")
    typed = None if decision is None else Decision.from_json(decision, "info.decision")
    violations = info.get("violations") or []
    if typed is not None and isinstance(decision, Mapping) and violations == decision.get("violations"):
        typed_violations = typed.violations  # the same list (compared in C): read once, not twice
    else:
        typed_violations = tuple(Violation.from_json(v, f"info.violations[{i}]") for i, v in enumerate(violations))
    # Ungoverned, the kernel still judges each action (observe only): kernelDecision is what it said.
    observed = info.get("kernelDecision")
    return {
        "step": info.get("step"),
        "task_id": info.get("taskId"),
        "candidate_id": info.get("candidateId"),
        "invalid_action": bool(info.get("invalidAction")),
        "blocked": bool(info.get("blocked")),
        "executed": bool(info.get("executed")),
        "success": bool(info.get("success")),
        "decision": typed,
        "kernel_decision": typed if observed is None else Decision.from_json(observed, "info.kernelDecision"),
        "violations": typed_violations,
        "reward_parts": RewardParts.from_json(info.get("reward"), "info.reward"),
    }


def step_result(env: GovernedSQLEnv, result: Mapping[str, Any]) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
    """``(obs, reward, terminated, truncated, info)`` from a host step result."""
    obs = env._observation(reply_field(result, "observation", dict, "step"))
    reward = float(reply_field(result, "reward", (int, float), "step"))
    terminated = reply_field(result, "terminated", bool, "step")
    truncated = reply_field(result, "truncated", bool, "step")
    return obs, reward, terminated, truncated, step_info(reply_field(result, "info", dict, "step"))
