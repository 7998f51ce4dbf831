"""N governed SQL environments stepped in one host message: a Gymnasium 1.x ``VectorEnv``.

Every ``step`` sends one ``batch`` request for all N sub-environments (the resets of the ones that
finished on the previous step ride in the same message, Gymnasium's NEXT_STEP autoreset), so the
bridge costs one round trip per vector step instead of N.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import _sql_wire as wire
from ._options import own_or_shared_host, sql_make_options
from ._convert import reply_field
from .errors import EnvClosed, HostError, InvalidConfig, InvalidStep, ResetNeeded
from .host import Host
from .types import TrailInfo

__all__ = ["GovernedSQLVectorEnv", "register_vector_entry_point", "ENV_ID"]

ENV_ID = "policy_kernel/GovernedSQL-v0"
_UNSET: Any = object()


class GovernedSQLVectorEnv(VectorEnv[dict[str, np.ndarray], np.ndarray, np.ndarray]):
    """``num_envs`` copies of ``policy_kernel/GovernedSQL-v0`` in one host, stepped in one message.

    Observations are the single env's Dict batched (``task`` (N,), ``mask`` (N, 4), ``step`` (N,));
    ``info`` follows Gymnasium's vector format (one array per key plus a ``_key`` mask saying which
    sub-environments have it). Sub-environment ``i`` behaves exactly as a ``GovernedSQLEnv`` reset
    with seed ``seed + i`` and given the same actions.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int,
        seed: int | None = None,
        governed: bool = True,
        reward_config: Mapping[str, Any] | None = None,
        row_budget: int | None = _UNSET,
        host: Host | None = None,
        kernel_args: Sequence[str] = (),
        trail_dir: str | os.PathLike[str] | None = None,
        chain_id: str | None = None,
        signing_key: str | os.PathLike[str] | None = None,
        max_episode_steps: int | None = None,
    ) -> None:
        """Start (or use) a host and make ``num_envs`` SQL envs in it.

        ``trail_dir``: each sub-environment streams its trail to ``trail_dir/env-<i>.jsonl`` (a new
        file), with chain id ``<chain_id>/<i>`` when ``chain_id`` is given (else the host's default)
        and checkpoints signed with the Ed25519 PKCS#8 PEM at ``signing_key``. ``max_episode_steps``
        is accepted for ``gymnasium.make_vec``; the host truncates at its own step budget.
        """
        super().__init__()
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise InvalidConfig(
                "invalid_config",
                f"GovernedSQLVectorEnv: num_envs must be a whole number >= 1, got {num_envs!r}",
                field="num_envs",
                expected="an int >= 1",
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise InvalidConfig(
                "invalid_config",
                f"GovernedSQLVectorEnv: seed must be an int or None, got {seed!r}",
                field="seed",
                expected="an int or None",
            )
        if not isinstance(governed, bool):
            raise InvalidConfig("invalid_config", f"{type(governed).__name__}", "governed", "True or False")
        self.num_envs = num_envs
        self._seed = None if seed is None else int(seed)
        self._host, self._owns_host = own_or_shared_host(host, kernel_args)
        self._handles: list[int] = []
        # Each sub-environment's closed trail, once close() ran (None before).
        self.trail_infos: tuple[TrailInfo, ...] | None = None
        try:
            for i in range(num_envs):
                options = sql_make_options(
                    governed=governed,
                    reward_config=reward_config,
                    row_budget=row_budget,
                    trail_path=None if trail_dir is None else Path(trail_dir) / f"env-{i}.jsonl",
                    chain_id=None if chain_id is None else f"{chain_id}/{i}",
                    signing_key=signing_key,
                    unset=_UNSET,
                )
                made = self._host.request("make", kind="sql", options=options)
                self._handles.append(reply_field(made, "env", int, "make"))
                if i == 0:
                    self.sql_spec = wire.SqlSpec.from_json(made.get("spec"))
        except BaseException:
            self._release()
            raise
        spec = self.sql_spec
        if max_episode_steps is not None and max_episode_steps < spec.max_steps:
            self._release()
            raise InvalidConfig(
                "invalid_config",
                f"GovernedSQLVectorEnv: max_episode_steps={max_episode_steps} is below the host's step "
                f"budget ({spec.max_steps}); the SQL env cannot truncate earlier",
                field="max_episode_steps",
                expected=f"None or >= {spec.max_steps}",
            )
        self.single_observation_space = wire.observation_space(spec)
        self.single_action_space = gym.spaces.Discrete(spec.action_count)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._action_count = spec.action_count
        self._task = np.zeros(num_envs, dtype=np.int64)
        self._mask = np.zeros((num_envs, spec.action_count), dtype=np.int8)
        self._step = np.zeros(num_envs, dtype=np.int64)
        self._rewards = np.zeros(num_envs, dtype=np.float64)
        self._terminations = np.zeros(num_envs, dtype=np.bool_)
        self._truncations = np.zeros(num_envs, dtype=np.bool_)
        self._autoreset = np.zeros(num_envs, dtype=np.bool_)
        self._has_reset = np.zeros(num_envs, dtype=np.bool_)
        self._first_reset = True

    @property
    def host(self) -> Host:
        """The host process the sub-environments live in."""
        return self._host

    @property
    def handles(self) -> tuple[int, ...]:
        """The host's env handles, in sub-environment order."""
        return tuple(self._handles)

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset every sub-environment (or those in ``options["reset_mask"]``) in one message.

        ``seed``: an int seeds sub-environment ``i`` with ``seed + i``; a list gives one seed each;
        None uses the constructor's seed on the first reset, else each env's own generator.
        ``options``: ``task_index`` (int) picks the task, as in ``GovernedSQLEnv``.
        """
        self._check_open()
        seeds = self._seeds(seed)
        options = dict(options) if options is not None else {}
        reset_mask = self._reset_mask(options.pop("reset_mask", None))
        host_options = wire.reset_options(options)
        targets = [i for i in range(self.num_envs) if reset_mask[i]]
        requests = [wire.reset_request(self._handles[i], seeds[i], host_options) for i in targets]
        replies = self._host.batch(requests)
        infos: dict[str, Any] = {}
        for i, reply in zip(targets, wire.results(replies, len(requests)), strict=True):
            observation, info = wire.reset_result(reply, self._action_count)
            self._put_observation(i, observation)
            infos = self._add_info(infos, info, i)
        self._terminations[reset_mask] = False
        self._truncations[reset_mask] = False
        self._autoreset[reset_mask] = False
        self._has_reset[reset_mask] = True
        self._first_reset = False
        return self._observations(), infos

    def step(
        self, actions: Any
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step all N sub-environments in one message; those that ended last step are reset instead.

        A reset sub-environment's action is ignored and it returns its reset observation, reward 0,
        terminated and truncated False and its reset info (Gymnasium's NEXT_STEP autoreset).
        """
        self._check_open()
        chosen = self._actions(actions)
        if not self._has_reset.all():
            missing = [i for i in range(self.num_envs) if not self._has_reset[i]]
            raise ResetNeeded(
                "reset_needed",
                f"GovernedSQLVectorEnv.step: sub-environments {missing} were never reset; call reset() first",
            )
        requests: list[dict[str, Any]] = []
        for i in range(self.num_envs):
            if self._autoreset[i]:
                requests.append(wire.reset_request(self._handles[i], None, {}))
            else:
                requests.append({"op": "step", "env": self._handles[i], "action": int(chosen[i])})
        replies = wire.results(self._host.batch(requests), len(requests))
        infos: dict[str, Any] = {}
        for i, reply in enumerate(replies):
            if self._autoreset[i]:
                observation, info = wire.reset_result(reply, self._action_count)
                self._rewards[i] = 0.0
                self._terminations[i] = False
                self._truncations[i] = False
            else:
                observation, reward, terminated, truncated, info = wire.step_result(reply, self._action_count)
                self._rewards[i] = reward
                self._terminations[i] = terminated
                self._truncations[i] = truncated
            self._put_observation(i, observation)
            infos = self._add_info(infos, info, i)
        self._autoreset = np.logical_or(self._terminations, self._truncations)
        return (
            self._observations(),
            self._rewards.copy(),
            self._terminations.copy(),
            self._truncations.copy(),
            infos,
        )

    def __enter__(self) -> GovernedSQLVectorEnv:
        """Use as a context manager: ``close()`` on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the vector env (trails closed, an owned host stopped)."""
        self.close()

    def metrics(self) -> list[dict[str, Any]]:
        """Each sub-environment's EnvironmentMetrics, in order."""
        self._check_open()
        return [self._host.request("metrics", env=handle) for handle in self._handles]

    def trails(self) -> list[TrailInfo]:
        """Each sub-environment's trail so far (``TrailInfo``), in order."""
        self._check_open()
        return [wire.trail_info(self._host.request("trail", env=handle)) for handle in self._handles]

    def close_extras(self, **kwargs: Any) -> None:
        """Close every sub-environment's trail (kept in ``trail_infos``), then an owned host."""
        infos: list[TrailInfo] = []
        try:
            if not self._host.closed:
                for handle in self._handles:
                    infos.append(wire.trail_info(self._host.request("close", env=handle)))
                self.trail_infos = tuple(infos)
        except HostError:
            # The host is gone (crashed or closed by its owner): nothing is left to close.
            if not self._host.closed:
                raise
        finally:
            self._handles = []
            if self._owns_host:
                self._host.close()

    def _release(self) -> None:
        """Undo a half-built env: close what was made, and the host if this env started it."""
        try:
            for handle in self._handles:
                self._host.request("close", env=handle)
        except Exception:  # noqa: BLE001 - the construction error is the one to report
            pass
        finally:
            self._handles = []
            if self._owns_host:
                self._host.close()

    def _check_open(self) -> None:
        if self.closed:
            raise EnvClosed(
                "env_closed", "GovernedSQLVectorEnv: the vector env is closed; make a new one"
            )

    def _seeds(self, seed: int | Sequence[int | None] | None) -> list[int | None]:
        if seed is None:
            if self._first_reset and self._seed is not None:
                return [self._seed + i for i in range(self.num_envs)]
            return [None] * self.num_envs
        if isinstance(seed, bool):
            raise InvalidConfig(
                "invalid_config",
                f"GovernedSQLVectorEnv.reset: seed must be an int, a list of ints or None, got {seed!r}",
                field="seed",
                expected="int | list[int | None] | None",
            )
        if isinstance(seed, (int, np.integer)):
            return [int(seed) + i for i in range(self.num_envs)]
        seeds = list(seed)
        if len(seeds) != self.num_envs:
            raise InvalidConfig(
                "invalid_config",
                f"GovernedSQLVectorEnv.reset: {len(seeds)} seeds for {self.num_envs} envs",
                field="seed",
                expected=f"a list of {self.num_envs} seeds",
            )
        for s in seeds:
            if s is not None and (isinstance(s, bool) or not isinstance(s, (int, np.integer))):
                raise InvalidConfig(
                    "invalid_config",
                    f"GovernedSQLVectorEnv.reset: seed list items must be ints or None, got {s!r}",
                    field="seed",
                    expected="int | None",
                )
        return [None if s is None else int(s) for s in seeds]

    def _reset_mask(self, mask: Any) -> np.ndarray:
        if mask is None:
            return np.ones(self.num_envs, dtype=np.bool_)
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
            raise InvalidConfig(
                "invalid_config",
                f"GovernedSQLVectorEnv.reset: options['reset_mask'] must be a numpy bool array of shape "
                f"({self.num_envs},), got {mask!r}",
                field="options.reset_mask",
                expected=f"np.ndarray[bool] of shape ({self.num_envs},)",
            )
        if not mask.any():
            raise InvalidConfig(
                "invalid_config",
                "GovernedSQLVectorEnv.reset: options['reset_mask'] selects no sub-environment",
                field="options.reset_mask",
                expected="at least one True",
            )
        return mask.copy()

    def _actions(self, actions: Any) -> np.ndarray:
        """The actions as int64 (N,), checked before anything is sent: a bad batch changes no env."""
        expected = f"{self.num_envs} integer actions in 0..{self.sql_spec.action_count - 1}, shape ({self.num_envs},)"
        try:
            array = np.asarray(actions)
        except (ValueError, TypeError) as error:
            raise InvalidStep(
                "invalid_step",
                f"GovernedSQLVectorEnv.step: actions are not an array ({error})",
                field="actions",
                expected=expected,
            ) from None
        if array.shape != (self.num_envs,):
            raise InvalidStep(
                "invalid_step",
                f"GovernedSQLVectorEnv.step: actions have shape {array.shape}",
                field="actions",
                expected=expected,
            )
        if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
            raise InvalidStep(
                "invalid_step",
                f"GovernedSQLVectorEnv.step: actions have dtype {array.dtype} ({array.tolist()!r})",
                field="actions",
                expected=expected,
            )
        bad = [i for i, a in enumerate(array.tolist()) if not 0 <= a < self.sql_spec.action_count]
        if bad:
            raise InvalidStep(
                "invalid_step",
                f"GovernedSQLVectorEnv.step: actions at {bad} are outside the action space "
                f"({[array[i].item() for i in bad]!r})",
                field=f"actions[{bad[0]}]",
                expected=expected,
            )
        return array.astype(np.int64)

    def _put_observation(self, i: int, observation: Mapping[str, Any]) -> None:
        self._task[i] = observation["task"]
        self._mask[i] = observation["mask"]
        self._step[i] = observation["step"]

    def _observations(self) -> dict[str, np.ndarray]:
        return {"task": self._task.copy(), "mask": self._mask.copy(), "step": self._step.copy()}


def register_vector_entry_point() -> None:
    """Give ``policy_kernel/GovernedSQL-v0`` its vector entry point (``gymnasium.make_vec``)."""
    entry = f"{__name__}:GovernedSQLVectorEnv"
    spec = gym.envs.registration.registry.get(ENV_ID)
    if spec is None:
        gym.register(id=ENV_ID, vector_entry_point=entry)
    elif spec.vector_entry_point is None:
        spec.vector_entry_point = entry
