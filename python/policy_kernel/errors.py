"""The package's errors: one base class with a string code, as the TypeScript side's PolicyKernelError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class PolicyKernelError(Exception):
    """Base error; ``code`` says what kind of failure it is (the host's code, e.g. ``invalid_config``).

    ``field`` is the dotted path of the offending value and ``expected`` what was expected there,
    when the thrower knew them.
    """

    def __init__(self, code: str, message: str, field: str | None = None, expected: str | None = None) -> None:
        self.code = code
        self.reason = message
        self.field = field
        self.expected = expected
        super().__init__(_format(message, field, expected))


class HostError(PolicyKernelError):
    """The host process failed: it exited, wrote a line that is not the protocol, or could not start.

    ``exit_code`` is the host's exit status when it has exited (None while it runs) and
    ``stderr_tail`` the last lines it wrote to stderr.
    """

    def __init__(self, message: str, exit_code: int | None = None, stderr_tail: str = "", code: str = "host_error") -> None:
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail
        detail = message
        if exit_code is not None:
            detail += f" (exit code {exit_code})"
        if stderr_tail:
            detail += f"; its stderr ends with:\n{stderr_tail}"
        super().__init__(code, detail)


class HostNotFound(HostError):
    """No host command: neither POLICY_KERNEL_CLI nor ``policy-kernel`` on PATH."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="host_not_found")


class EnvClosed(PolicyKernelError, RuntimeError):
    """``reset()``/``step()`` on an environment that was closed (code ``env_closed``)."""


class ResetNeeded(PolicyKernelError, RuntimeError):
    """``step()`` without an episode in progress: call ``reset()`` first (code ``reset_needed``)."""


class InvalidStep(PolicyKernelError, ValueError):
    """A step the environment cannot take: a wrong action type or value (code ``invalid_step``)."""


class InvalidAction(PolicyKernelError, ValueError):
    """An action the kernel refuses to evaluate: not the action shape (code ``invalid_action``)."""


class InvalidConfig(PolicyKernelError, ValueError):
    """A bad option: an unknown reward field, a wrong type, a contradiction (code ``invalid_config``)."""


_BY_CODE: dict[str, type[PolicyKernelError]] = {
    "env_closed": EnvClosed,
    "reset_needed": ResetNeeded,
    "invalid_step": InvalidStep,
    "invalid_action": InvalidAction,
    "invalid_config": InvalidConfig,
}


def error_for_code(code: str, message: str, field: str | None = None, expected: str | None = None) -> PolicyKernelError:
    """The error class for a code (EnvClosed for ``env_closed``...), else the base class with that code."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return PolicyKernelError(code, message, field, expected)
    return cls(code, message, field, expected)


def error_from_reply(error: Any) -> PolicyKernelError:
    """The exception for a host reply's ``error`` object; a malformed one is a HostError, never a KeyError."""
    if not isinstance(error, Mapping):
        return HostError(f"the host replied ok:false with an error that is not an object: {error!r:.200}")
    code, message = error.get("code"), error.get("message")
    field, expected = error.get("field"), error.get("expected")
    if not isinstance(code, str) or not isinstance(message, str):
        return HostError(f"the host's error has no string code and message: {dict(error)!r:.200}")
    return error_for_code(
        code,
        _strip_location(message, field, expected),
        field if isinstance(field, str) else None,
        expected if isinstance(expected, str) else None,
    )


def _format(message: str, field: str | None, expected: str | None) -> str:
    where = f"{field}: " if field else ""
    want = f" (expected {expected})" if expected else ""
    return f"{where}{message}{want}"


def _strip_location(message: str, field: Any, expected: Any) -> str:
    """The host formats field and expected into its message as we do: keep them once, not twice."""
    if isinstance(field, str) and field and message.startswith(f"{field}: "):
        message = message[len(field) + 2 :]
    if isinstance(expected, str) and expected and message.endswith(f" (expected {expected})"):
        message = message[: -len(f" (expected {expected})")]
    return message
