"""Typed mirrors of the TypeScript schemas (src/schemas.ts) the host returns.

Each class reads the host's camelCase JSON with ``from_json`` and writes it back with ``to_json``.
A field a newer host adds is kept in ``extra`` (never dropped silently, never an error); a known
field of the wrong type is a HostError naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from .errors import HostError

_T = TypeVar("_T")
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _get(obj: Mapping[str, Any], where: str, key: str, kind: type[_T] | tuple[type, ...], optional: bool = False) -> Any:
    """``obj[key]`` checked against ``kind``; a bool is not a number here, as in JSON."""
    if key not in obj:
        if optional:
            return None
        raise HostError(f"{where}.{key}: missing from the host's reply (expected {_kind_name(kind)})")
    value = obj[key]
    if value is None and optional:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok:
        raise HostError(f"{where}.{key}: {type(value).__name__} in the host's reply (expected {_kind_name(kind)})")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise HostError(f"{where}: {type(value).__name__} in the host's reply (expected an object)")
    return value


def _extra(obj: Mapping[str, Any], known: frozenset[str]) -> Mapping[str, Any]:
    rest = {k: v for k, v in obj.items() if k not in known}
    return MappingProxyType(rest) if rest else _EMPTY


@dataclass(frozen=True)
class Violation:
    """One finding of one policy on one action; ``penalty`` is a magnitude >= 0."""

    type: str
    policy: str
    rule: str
    severity: str
    description: str
    blocked: bool
    penalty: float
    source: str
    signal: str | None = None
    details: Any = field(default=None, hash=False)
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, hash=False)

    _KEYS = frozenset({"type", "policy", "rule", "severity", "description", "blocked", "penalty", "source", "signal", "details"})

    @classmethod
    def from_json(cls, data: Any, where: str = "violation") -> Violation:
        """Reads a Violation from the host's JSON."""
        fast = _fast_violation(cls, data)
        if fast is not None:
            return fast
        d = _object(data, where)
        return cls(
            type=_get(d, where, "type", str),
            policy=_get(d, where, "policy", str),
            rule=_get(d, where, "rule", str),
            severity=_get(d, where, "severity", str),
            description=_get(d, where, "description", str),
            blocked=_get(d, where, "blocked", bool),
            penalty=float(_get(d, where, "penalty", (int, float))),
            source=_get(d, where, "source", str),
            signal=_get(d, where, "signal", str, optional=True),
            details=d.get("details"),
            extra=_extra(d, cls._KEYS),
        )

    def to_json(self) -> dict[str, Any]:
        """The host's JSON for this violation (camelCase, optional fields only when set)."""
        out: dict[str, Any] = {
            "type": self.type,
            "policy": self.policy,
            "rule": self.rule,
            "severity": self.severity,
            "description": self.description,
            "blocked": self.blocked,
            "penalty": _number(self.penalty),
            "source": self.source,
        }
        if self.signal is not None:
            out["signal"] = self.signal
        if self.details is not None:
            out["details"] = self.details
        out.update(self.extra)
        return out


def _fast_violation(cls: type[Violation], d: Any) -> Violation | None:
    """The common case on every step, checked inline: a dict with exactly-typed fields; else None for the slow path that names the field."""
    if type(d) is not dict:
        return None
    try:
        vtype, policy, rule, severity = d["type"], d["policy"], d["rule"], d["severity"]
        description, blocked, penalty, source = d["description"], d["blocked"], d["penalty"], d["source"]
    except KeyError:
        return None
    signal = d.get("signal")
    if not (
        type(vtype) is str and type(policy) is str and type(rule) is str and type(severity) is str
        and type(description) is str and type(blocked) is bool and type(source) is str
        and (type(penalty) is int or type(penalty) is float) and (signal is None or type(signal) is str)
    ):
        return None
    extra = _EMPTY if d.keys() <= cls._KEYS else _extra(d, cls._KEYS)
    return cls(vtype, policy, rule, severity, description, blocked, float(penalty), source, signal, d.get("details"), extra)


@dataclass(frozen=True)
class Provenance:
    """Which bundle, data and rules made a decision, by revision and SHA-256 (None when absent)."""

    bundle_revision: str | None
    bundle_sha256: str | None
    data_sha256: str | None
    rules_sha256: str | None
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, hash=False)

    _KEYS = frozenset({"bundleRevision", "bundleSha256", "dataSha256", "rulesSha256"})

    @classmethod
    def from_json(cls, data: Any, where: str = "provenance") -> Provenance:
        """Reads a Provenance from the host's JSON."""
        if type(data) is dict and data.keys() == cls._KEYS:
            values = (data["bundleRevision"], data["bundleSha256"], data["dataSha256"], data["rulesSha256"])
            if all(v is None or type(v) is str for v in values):
                return cls(*values)
        d = _object(data, where)
        return cls(
            bundle_revision=_get(d, where, "bundleRevision", str, optional=True),
            bundle_sha256=_get(d, where, "bundleSha256", str, optional=True),
            data_sha256=_get(d, where, "dataSha256", str, optional=True),
            rules_sha256=_get(d, where, "rulesSha256", str, optional=True),
            extra=_extra(d, cls._KEYS),
        )

    def to_json(self) -> dict[str, Any]:
        """The host's JSON for this provenance."""
        out: dict[str, Any] = {
            "bundleRevision": self.bundle_revision,
            "bundleSha256": self.bundle_sha256,
            "dataSha256": self.data_sha256,
            "rulesSha256": self.rules_sha256,
        }
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Decision:
    """The kernel's one answer per action: allowed or not, every violation in order, signals, provenance."""

    allowed: bool
    violations: tuple[Violation, ...]
    signals: tuple[str, ...]
    provenance: Provenance
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, hash=False)

    _KEYS = frozenset({"allowed", "violations", "signals", "provenance"})

    @classmethod
    def from_json(cls, data: Any, where: str = "decision") -> Decision:
        """Reads a Decision from the host's JSON."""
        d = _object(data, where)
        violations = _get(d, where, "violations", list)
        signals = _get(d, where, "signals", list)
        for i, s in enumerate(signals):
            if not isinstance(s, str):
                raise HostError(f"{where}.signals[{i}]: {type(s).__name__} in the host's reply (expected str)")
        return cls(
            allowed=_get(d, where, "allowed", bool),
            violations=tuple(Violation.from_json(v, f"{where}.violations[{i}]") for i, v in enumerate(violations)),
            signals=tuple(signals),
            provenance=Provenance.from_json(_get(d, where, "provenance", Mapping), f"{where}.provenance"),
            extra=_extra(d, cls._KEYS),
        )

    def to_json(self) -> dict[str, Any]:
        """The host's JSON for this decision, in the TypeScript key order."""
        out: dict[str, Any] = {
            "allowed": self.allowed,
            "violations": [v.to_json() for v in self.violations],
            "signals": list(self.signals),
            "provenance": self.provenance.to_json(),
        }
        out.update(self.extra)
        return out

    @property
    def critical(self) -> bool:
        """Some violation is critical (the severity that terminates an episode)."""
        return any(v.severity == "critical" for v in self.violations)


@dataclass(frozen=True)
class RewardParts:
    """A step reward split into its parts; ``total`` is what ``step()`` returns."""

    base: float
    step: float
    violations: float
    bonus: float
    total: float
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, hash=False)

    _KEYS = frozenset({"base", "step", "violations", "bonus", "total"})

    @classmethod
    def from_json(cls, data: Any, where: str = "reward") -> RewardParts:
        """Reads RewardParts from the host's JSON."""
        if type(data) is dict and data.keys() == cls._KEYS:
            base, step, violations, bonus, total = data["base"], data["step"], data["violations"], data["bonus"], data["total"]
            if all(type(v) is float or type(v) is int for v in (base, step, violations, bonus, total)):
                return cls(float(base), float(step), float(violations), float(bonus), float(total))
        d = _object(data, where)
        num = (int, float)
        return cls(
            base=float(_get(d, where, "base", num)),
            step=float(_get(d, where, "step", num)),
            violations=float(_get(d, where, "violations", num)),
            bonus=float(_get(d, where, "bonus", num)),
            total=float(_get(d, where, "total", num)),
            extra=_extra(d, cls._KEYS),
        )

    def to_json(self) -> dict[str, Any]:
        """The host's JSON for these parts."""
        out: dict[str, Any] = {
            "base": _number(self.base),
            "step": _number(self.step),
            "violations": _number(self.violations),
            "bonus": _number(self.bonus),
            "total": _number(self.total),
        }
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class TrailInfo:
    """An environment's flight-recorder trail: entries, head hash, file path, and whether the file verified."""

    entries: int
    head: str | None
    path: str | None
    verified: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, hash=False)

    _KEYS = frozenset({"entries", "head", "path", "verified", "lines"})

    @classmethod
    def from_json(cls, data: Any, where: str = "trail") -> TrailInfo:
        """Reads a TrailInfo from a ``trail`` or ``close`` reply (``lines`` is left out)."""
        d = _object(data, where)
        return cls(
            entries=_get(d, where, "entries", int),
            head=_get(d, where, "head", str, optional=True),
            path=_get(d, where, "path", str, optional=True),
            verified=_get(d, where, "verified", bool, optional=True),
            extra=_extra(d, cls._KEYS),
        )

    def to_json(self) -> dict[str, Any]:
        """The host's JSON for this trail report."""
        out: dict[str, Any] = {"entries": self.entries, "head": self.head, "path": self.path}
        if self.verified is not None:
            out["verified"] = self.verified
        out.update(self.extra)
        return out


def _number(value: float) -> int | float:
    """An integral float back as an int, so to_json writes ``-1`` where the host wrote ``-1``."""
    return int(value) if float(value).is_integer() else value
