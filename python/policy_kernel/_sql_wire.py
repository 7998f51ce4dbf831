"""The SQL env's messages to and from the host, as the vector env sends and reads them.

Replies are read with ``GovernedSQLEnv``'s own converters (``sql_observation``, ``step_info``),
so a sub-environment of the vector env returns exactly what a single env returns. A reply of the
wrong shape is a ``HostError`` naming the field, never a silent zero in an observation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from ._convert import reply_field, seed_json
from ._options import camel_case
from .errors import HostError, InvalidConfig, error_from_reply
from .sql_env import sql_observation, step_info
from .types import TrailInfo


@dataclass(frozen=True)
class SqlSpec:
    """What the host's ``make`` says about the SQL env: its action count, step budget and tasks."""

    action_count: int
    max_steps: int
    task_count: int
    tasks: tuple[Mapping[str, Any], ...]

    @staticmethod
    def from_json(spec: Any) -> SqlSpec:
        """Read the ``spec`` of a ``make`` reply."""
        if not isinstance(spec, Mapping):
            raise HostError(f"make.spec: {type(spec).__name__} in the host's reply (expected an object)")
        return SqlSpec(
            action_count=reply_field(spec, "actionCount", int, "make.spec"),
            max_steps=reply_field(spec, "maxSteps", int, "make.spec"),
            task_count=reply_field(spec, "taskCount", int, "make.spec"),
            tasks=tuple(reply_field(spec, "tasks", list, "make.spec")),
        )


def observation_space(spec: SqlSpec) -> gym.spaces.Dict:
    """The single env's observation space (as ``GovernedSQLEnv``'s)."""
    return gym.spaces.Dict(
        {
            "task": gym.spaces.Discrete(spec.task_count),
            "mask": gym.spaces.MultiBinary(spec.action_count),
            "step": gym.spaces.Discrete(spec.max_steps + 1),
        }
    )


def reset_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The host's reset options from Python's (``task_index`` -> ``taskIndex``); ``reset_mask`` is taken out before."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        name = camel_case(str(key))
        if name != "taskIndex":
            raise InvalidConfig("invalid_config", f"unknown reset option {key!r}", f"options.{key}", "task_index or reset_mask")
        out[name] = value
    return out


def reset_request(handle: int, seed: int | None, options: Mapping[str, Any]) -> dict[str, Any]:
    """One ``reset`` sub-request of a batch."""
    request: dict[str, Any] = {"op": "reset", "env": handle}
    if seed is not None:
        request["seed"] = seed_json(seed)
    if options:
        request["options"] = dict(options)
    return request


def results(replies: Sequence[Mapping[str, Any]], count: int) -> list[Mapping[str, Any]]:
    """The results of a batch, in order; the first failed item is raised as its typed error."""
    if len(replies) != count:
        raise HostError(f"the host's batch reply has {len(replies)} results for {count} requests")
    out: list[Mapping[str, Any]] = []
    for index, reply in enumerate(replies):
        if reply.get("ok") is True:
            out.append(reply_field(reply, "result", dict, f"batch.results[{index}]"))
        else:
            raise error_from_reply(reply.get("error"))
    return out


def reset_result(result: Mapping[str, Any], action_count: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A reset reply as (observation, info), exactly as ``GovernedSQLEnv.reset`` returns it (no ``episode``)."""
    info = reply_field(result, "info", dict, "reset")
    return sql_observation(reply_field(result, "observation", dict, "reset"), action_count), {
        "task_id": info.get("taskId"),
        "prompt": info.get("prompt"),
        "seed": info.get("seed"),
    }


def step_result(result: Mapping[str, Any], action_count: int) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
    """A step reply as Gymnasium's five values, exactly as ``GovernedSQLEnv.step`` returns them."""
    obs = sql_observation(reply_field(result, "observation", dict, "step"), action_count)
    reward = float(reply_field(result, "reward", (int, float), "step"))
    terminated = reply_field(result, "terminated", bool, "step")
    truncated = reply_field(result, "truncated", bool, "step")
    return obs, reward, terminated, truncated, step_info(reply_field(result, "info", dict, "step"))


def trail_info(result: Mapping[str, Any]) -> TrailInfo:
    """A ``trail`` or ``close`` reply as ``TrailInfo``."""
    return TrailInfo.from_json(result)
