"""Checks of the values Python hands the host and the host hands back, shared by the environments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import HostError, InvalidStep


def describe(value: Any) -> str:
    """A short description of a value for an error message: its type, and shape for arrays."""
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


def discrete_action(action: Any, n: int, field: str = "action") -> int:
    """An action of ``Discrete(n)`` as an int: Python and numpy integers (0-d arrays too); never bool or float."""
    expected = f"an int in 0..{n - 1} (Discrete({n})); numpy integers are fine"
    if isinstance(action, (bool, np.bool_)):
        raise InvalidStep("invalid_step", f"{describe(action)} is not an action", field, expected)
    if isinstance(action, (int, np.integer)):
        return int(action)
    if isinstance(action, np.ndarray) and action.shape == () and action.dtype.kind in "iu":
        return int(action)
    raise InvalidStep("invalid_step", f"{describe(action)} is not an action", field, expected)


def reply_field(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``obj[key]`` of ``kind`` from a host reply; anything else is a HostError naming the field."""
    if not isinstance(obj, Mapping) or key not in obj:
        raise HostError(f"{where}.{key}: missing from the host's reply")
    value = obj[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        raise HostError(f"{where}.{key}: {type(value).__name__} in the host's reply (expected {'/'.join(k.__name__ for k in kinds)})")
    return value


def seed_json(seed: int) -> int | str:
    """A seed as JSON: an int JavaScript holds exactly, else its decimal string (the host takes both)."""
    return seed if -(2**53) < seed < 2**53 else str(seed)
