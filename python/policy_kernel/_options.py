"""Options shared by the environments: reward shaping and the trail, as the host's ``make`` takes them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import InvalidConfig
from .host import Host


def camel_case(name: str) -> str:
    """``critical_penalty`` → ``criticalPenalty``; a camelCase name is returned as it is."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def reward_config_json(reward_config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """RewardConfig fields in the host's camelCase (``critical_penalty`` or ``criticalPenalty``); the host checks the values."""
    if reward_config is None:
        return None
    if not isinstance(reward_config, Mapping):
        raise InvalidConfig("invalid_config", f"{type(reward_config).__name__}", "reward_config", "a mapping of RewardConfig fields such as {'critical_penalty': -100}")
    out: dict[str, Any] = {}
    for key, value in reward_config.items():
        if not isinstance(key, str):
            raise InvalidConfig("invalid_config", f"a key of type {type(key).__name__}", "reward_config", "string field names")
        name = camel_case(key)
        if name in out:
            raise InvalidConfig("invalid_config", f"{key} names {name} twice", f"reward_config.{key}", "each field once")
        out[name] = value
    return out


def trail_json(trail_path: str | os.PathLike[str] | None, chain_id: str | None, signing_key: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """The ``trail`` option: a JSONL file to stream to, a chain id, an Ed25519 PEM to sign checkpoints."""
    trail: dict[str, Any] = {}
    if trail_path is not None:
        trail["path"] = os.fspath(trail_path)
    if chain_id is not None:
        trail["chainId"] = chain_id
    if signing_key is not None:
        trail["signingKey"] = os.fspath(signing_key)
    return trail or None


def shaping_options(
    reward_config: Mapping[str, Any] | None,
    trail_path: str | os.PathLike[str] | None,
    chain_id: str | None,
    signing_key: str | os.PathLike[str] | None,
) -> dict[str, Any]:
    """The ``rewardConfig`` and ``trail`` options every env kind's ``make`` takes (each left out when not given)."""
    options: dict[str, Any] = {}
    reward = reward_config_json(reward_config)
    if reward is not None:
        options["rewardConfig"] = reward
    trail = trail_json(trail_path, chain_id, signing_key)
    if trail is not None:
        options["trail"] = trail
    return options


def sql_make_options(
    *,
    governed: Any,
    reward_config: Mapping[str, Any] | None,
    row_budget: Any,
    trail_path: str | os.PathLike[str] | None,
    chain_id: str | None,
    signing_key: str | os.PathLike[str] | None,
    unset: Any,
) -> dict[str, Any]:
    """The ``options`` of a ``make`` request for one SQL env; ``row_budget`` is left out when it is ``unset``."""
    if not isinstance(governed, (bool, np.bool_)):
        raise InvalidConfig("invalid_config", f"{type(governed).__name__}", "governed", "True or False")
    options: dict[str, Any] = {"governed": bool(governed)}
    if row_budget is not unset:
        options["rowBudget"] = row_budget
    return {**options, **shaping_options(reward_config, trail_path, chain_id, signing_key)}


def own_or_shared_host(host: Host | None, kernel_args: Any) -> tuple[Host, bool]:
    """The host an env uses and whether it owns it: ``host`` shared, else a new one with ``kernel_args``."""
    if isinstance(kernel_args, (str, bytes)):
        raise InvalidConfig("invalid_config", "a single string, not a list of flags", "kernel_args", "a sequence of strings such as ['--no-bundle']")
    if host is not None:
        if kernel_args:
            raise InvalidConfig("invalid_config", "kernel_args given with a shared host, which already has its kernel", "kernel_args", "either host= or kernel_args, not both")
        return host, False
    return Host(list(kernel_args)), True
