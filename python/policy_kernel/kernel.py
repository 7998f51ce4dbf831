"""``Kernel``: evaluate actions from Python through a host, as ``policy-kernel eval`` does."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import HostError, InvalidConfig
from .host import Host
from .types import Decision

PathLike = str | os.PathLike[str]


def kernel_flags(
    bundle: PathLike | None = None,
    rules: PathLike | Sequence[PathLike] | None = None,
    data: PathLike | None = None,
    no_bundle: bool = False,
    no_rules: bool = False,
    fail_open: bool = False,
    args: Sequence[str] = (),
) -> list[str]:
    """The CLI flags for these kernel options (``--bundle``, ``--rules`` per file, ``--data``...), then ``args``."""
    if no_bundle and bundle is not None:
        raise InvalidConfig("invalid_config", "bundle and no_bundle contradict each other; give one", "no_bundle")
    if no_rules and rules is not None:
        raise InvalidConfig("invalid_config", "rules and no_rules contradict each other; give one", "no_rules")
    if isinstance(args, (str, bytes)):
        raise InvalidConfig("invalid_config", "a single string, not a list of flags", "args", "a sequence of strings such as ['--log-level', 'error']")
    flags: list[str] = []
    if bundle is not None:
        flags += ["--bundle", os.fspath(bundle)]
    if no_bundle:
        flags.append("--no-bundle")
    if rules is not None:
        files = [rules] if isinstance(rules, (str, os.PathLike)) else list(rules)
        if not files:
            raise InvalidConfig("invalid_config", "an empty list of rule files", "rules", "one path or a non-empty list of paths (or no_rules=True)")
        for file in files:
            flags += ["--rules", os.fspath(file)]
    if no_rules:
        flags.append("--no-rules")
    if data is not None:
        flags += ["--data", os.fspath(data)]
    if fail_open:
        flags.append("--fail-open")
    for i, arg in enumerate(args):
        if not isinstance(arg, str):
            raise InvalidConfig("invalid_config", f"{type(arg).__name__} among the flags", f"args[{i}]", "a string")
    return flags + list(args)


class Kernel:
    """A policy kernel in a host process: ``evaluate`` an action, get a typed :class:`Decision`.

    The options are the CLI's kernel flags (``bundle`` a .tar.gz or folder, ``rules`` one or more
    JSON rule files, ``data`` a JSON file of data overrides; with neither bundle nor rules, the
    default policy library). ``host`` shares a running Host instead (then give no options).
    """

    def __init__(
        self,
        bundle: PathLike | None = None,
        rules: PathLike | Sequence[PathLike] | None = None,
        data: PathLike | None = None,
        no_bundle: bool = False,
        no_rules: bool = False,
        fail_open: bool = False,
        args: Sequence[str] = (),
        host: Host | None = None,
    ) -> None:
        flags = kernel_flags(bundle, rules, data, no_bundle, no_rules, fail_open, args)
        if host is not None and flags:
            raise InvalidConfig("invalid_config", "kernel options given with a shared host, which already has its kernel", "host", "either host= or kernel options, not both")
        self._owns_host = host is None
        self.host: Host = Host(flags) if host is None else host

    @property
    def policies(self) -> list[str]:
        """The policy names the host loaded (from its ready line)."""
        return list(self.host.ready.get("policies") or [])

    @property
    def bundle_revision(self) -> str | None:
        """The bundle's revision, or None without a Rego bundle."""
        revision = self.host.ready.get("bundleRevision")
        return revision if isinstance(revision, str) else None

    def evaluate(self, action: Mapping[str, Any]) -> Decision:
        """Evaluates ``{"agentId", "action", "context"?}``; a malformed action raises InvalidAction naming the field."""
        result = self.host.request("evaluate", action=action)
        return Decision.from_json(result.get("decision"))

    def evaluate_batch(self, actions: Sequence[Mapping[str, Any]]) -> list[Decision]:
        """Evaluates many actions in one message; the decisions are in the actions' order."""
        result = self.host.request("evaluate_batch", actions=list(actions))
        decisions = result.get("decisions")
        if not isinstance(decisions, list) or len(decisions) != len(actions):
            raise HostError(f"the host's evaluate_batch reply has no decisions list of {len(actions)} items")
        return [Decision.from_json(d, f"decisions[{i}]") for i, d in enumerate(decisions)]

    def close(self) -> None:
        """Stops the host when this kernel started it."""
        if self._owns_host:
            self.host.close()

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
