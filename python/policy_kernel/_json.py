"""JSON lines to and from the host: numpy values accepted, NaN and infinity refused with the field named."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import HostError, PolicyKernelError, error_for_code

# How deep find_bad_value looks when json.dumps refused a request (too deep for its recursion).
MAX_DEPTH = 512


def _default(value: Any) -> Any:
    """numpy scalars and arrays as the JSON they stand for; anything else is not JSON."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")


def find_bad_value(value: Any, path: str = "", depth: int = 0) -> tuple[str, str] | None:
    """The first value JSON cannot carry: ``(dotted path, what it is)``, or None when all is JSON."""
    if depth > MAX_DEPTH:
        return path or "(root)", f"nesting deeper than {MAX_DEPTH} levels"
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            return path or "(root)", f"{float(value)!r} (JSON has no NaN or infinity)"
        return None
    if value is None or isinstance(value, (str, bool, int, np.integer, np.bool_)):
        return None
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            return path or "(root)", "an array holding NaN or infinity (JSON has neither)"
        if value.dtype.kind not in "biuf":
            return path or "(root)", f"a numpy array of dtype {value.dtype}"
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                return path or "(root)", f"a key of type {type(key).__name__} (JSON keys are strings)"
            name = str(key)
            found = find_bad_value(item, f"{path}.{name}" if path else name, depth + 1)
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = find_bad_value(item, f"{path}[{i}]", depth + 1)
            if found:
                return found
        return None
    return path or "(root)", f"a {type(value).__name__} (not JSON)"


class Unencodable(Exception):
    """A request holds a value JSON cannot carry: ``field`` (dotted path) and ``what`` it is."""

    def __init__(self, field: str, what: str) -> None:
        super().__init__(f"{field}: {what}")
        self.field = field
        self.what = what


def encode_line(request: Mapping[str, Any]) -> bytes:
    """One request line, or Unencodable naming the field JSON cannot carry.

    json.dumps (C) runs first; only when it refuses does the Python walk look for the field to name,
    so a valid request (the hot path of every step) is walked once, not twice.
    """
    try:
        text = json.dumps(request, allow_nan=False, separators=(",", ":"), default=_default, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError) as error:
        bad = find_bad_value(request)
        raise Unencodable(*(bad if bad else ("(root)", str(error)))) from None
    return text.encode("utf-8") + b"\n"


def unencodable_error(bad: Unencodable, error_code: str) -> PolicyKernelError:
    """The typed error (``error_code``'s class) for a value that cannot be sent."""
    return error_for_code(error_code, f"{bad.what} cannot be sent to the host", bad.field, "a finite number, string, bool, null, list or object")


def encode_request(request: Mapping[str, Any], error_code: str) -> bytes:
    """One request line; a value JSON cannot carry raises ``error_code``'s error naming its field."""
    try:
        return encode_line(request)
    except Unencodable as bad:
        raise unencodable_error(bad, error_code) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_line(line: bytes) -> Any:
    """A protocol line from the host; anything that is not strict JSON is a HostError quoting it."""
    try:
        return json.loads(line, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise HostError(f"the host wrote a line that is not JSON ({error}): {line[:200]!r}") from None


__all__ = ["MAX_DEPTH", "Unencodable", "encode_line", "unencodable_error", "decode_line", "encode_request", "find_bad_value"]
