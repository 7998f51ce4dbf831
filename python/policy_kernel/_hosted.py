"""Reading what the host keeps for an env handle: its trail so far and every trail entry."""

from __future__ import annotations

from typing import Any

from .errors import HostError
from .host import Host
from .types import TrailInfo


def trail_of(host: Host, handle: int) -> TrailInfo:
    """The trail of env ``handle`` so far: entries, head hash, file path."""
    return TrailInfo.from_json(host.request("trail", env=handle))


def trail_lines_of(host: Host, handle: int) -> list[dict[str, Any]]:
    """Every trail entry of env ``handle`` recorded so far, as the JSON objects its trail file holds."""
    lines = host.request("trail", env=handle, entries=True).get("lines")
    if not isinstance(lines, list):
        raise HostError("the host's trail reply has no lines list")
    return lines
