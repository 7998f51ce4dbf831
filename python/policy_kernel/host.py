"""The host process: ``policy-kernel serve --stdio``, one JSON line per request and per reply."""

from __future__ import annotations

import collections
import itertools
import os
import select
import subprocess
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from ._json import Unencodable, decode_line, encode_line, unencodable_error
from .cli import find_cli
from .errors import HostError, error_for_code, error_from_reply

# The code of the error raised when a request holds a value JSON cannot carry, by op: what the
# TypeScript side calls the same mistake (an action is invalid_action, a step's action invalid_step).
_ENCODE_CODE = {
    "evaluate": "invalid_action",
    "evaluate_batch": "invalid_action",
    "check": "invalid_action",
    "step": "invalid_step",
    "record": "invalid_step",
    "reset": "invalid_step",
    "make": "invalid_config",
}
_STDERR_KEEP_BYTES = 64 * 1024
_STDERR_TAIL_LINES = 20
# How long close() lets the host flush and close its trails after stdin closes before killing it.
_CLOSE_TIMEOUT_S = 10.0
# How long a host may take to load its kernel (a bundle service may be slow) before it is killed.
DEFAULT_READY_TIMEOUT_S = 120.0


class _StderrTail:
    """Drains the host's stderr on a thread into a bounded buffer, so a chatty host never blocks on it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, args=(stream,), name="policy-kernel-host-stderr", daemon=True)
        self._thread.start()

    def _drain(self, stream: IO[bytes]) -> None:
        fd = stream.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self._chunks.append(chunk)
                self._size += len(chunk)
                while self._size > _STDERR_KEEP_BYTES and len(self._chunks) > 1:
                    self._size -= len(self._chunks.popleft())

    def tail(self, wait_s: float = 0.0) -> str:
        """The last lines written so far (after waiting up to ``wait_s`` for stderr to close)."""
        if wait_s > 0:
            self._thread.join(wait_s)
        with self._lock:
            text = b"".join(self._chunks)[-_STDERR_KEEP_BYTES:].decode("utf-8", errors="replace")
        return "\n".join(text.rstrip("\n").splitlines()[-_STDERR_TAIL_LINES:])


def _stop(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Ends a host: close its stdin (it closes every env and exits), then kill it if it lingers."""
    if proc.stdin is not None and not proc.stdin.closed:
        try:
            proc.stdin.close()
        except OSError:
            pass
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


class Host:
    """A running ``policy-kernel serve --stdio``: requests in, typed replies out, one at a time.

    ``args`` are extra host flags (kernel flags such as ``--no-bundle --rules file.json``);
    ``cli`` the command that runs the CLI (default :func:`find_cli`). A host that loads for longer
    than ``ready_timeout_s`` is killed; one that exits, before
    or after its ready line, is a HostError with its exit code and stderr tail, never a hang.
    The host is closed when this object is closed, collected, or the interpreter exits; it also
    exits by itself when its stdin closes, so a trainer killed outright leaves no host behind.
    """

    def __init__(self, args: Sequence[str] = (), cli: Sequence[str] | None = None, ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S) -> None:
        if isinstance(args, (str, bytes)):
            raise error_for_code("invalid_config", "a single string, not a list of flags", "args", "a sequence of strings such as ['--no-bundle']")
        if isinstance(cli, (str, bytes)):
            raise error_for_code("invalid_config", "a single string, not a command as a list", "cli", "a sequence such as ['node', '/path/dist/src/cli/main.js']")
        command = [*(find_cli() if cli is None else cli), "serve", "--stdio", *args]
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed = False
        self._closed_why = ""
        try:
            self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as error:
            raise HostError(f"could not start the host {command!r}: {error}") from None
        self._finalizer = weakref.finalize(self, _stop, self._proc, _CLOSE_TIMEOUT_S)
        assert self._proc.stderr is not None
        self._stderr = _StderrTail(self._proc.stderr)
        self.command: list[str] = command
        try:
            self._await_output(ready_timeout_s)
            ready = self._read_reply("the ready line")
        except HostError:
            self.close()
            raise
        if not isinstance(ready, dict) or ready.get("ready") is not True or ready.get("protocol") != 1:
            self.close()
            raise HostError(f"the host's first line is not a protocol-1 ready line: {str(ready)[:200]}")
        self.ready: dict[str, Any] = ready

    @property
    def pid(self) -> int:
        """The host process id."""
        return self._proc.pid

    @property
    def closed(self) -> bool:
        """True once close() ran or the host was found dead."""
        return self._closed

    def request(self, op: str, **params: Any) -> dict[str, Any]:
        """Sends one request and returns its ``result``; an error reply raises its typed error."""
        code = _ENCODE_CODE.get(op, "invalid_request")
        return self._result(op, self._exchange({"op": op, **params}, lambda field: code))

    @staticmethod
    def _result(op: str, reply: dict[str, Any]) -> dict[str, Any]:
        if reply.get("ok") is True:
            result = reply.get("result")
            if not isinstance(result, dict):
                raise HostError(f"the host's reply to {op} has a result that is not an object: {str(result)[:200]}")
            return result
        raise error_from_reply(reply.get("error"))

    def batch(self, requests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Sends many requests in one ``batch`` message; each item is ``{"ok": True, "result"}`` or ``{"ok": False, "error"}``.

        A value JSON cannot carry in item ``i`` raises the error of its op naming ``requests[i].<field>``.
        """
        items = list(requests)
        for i, item in enumerate(items):
            if not isinstance(item, Mapping) or not isinstance(item.get("op"), str):
                raise error_for_code("invalid_request", "not an object with a string op", f"requests[{i}]", "{'op': 'step', ...}")

        def code_of(field: str) -> str:
            # A value JSON cannot carry in item i: the error its op raises, naming requests[i].<field>.
            if field.startswith("requests["):
                return _ENCODE_CODE.get(str(items[int(field[len("requests[") : field.index("]")])]["op"]), "invalid_request")
            return "invalid_request"

        result = self._result("batch", self._exchange({"op": "batch", "requests": items}, code_of))
        results = result.get("results")
        if not isinstance(results, list) or len(results) != len(items):
            raise HostError(f"the host's batch reply has no results list of {len(items)} items: {str(result)[:200]}")
        for i, item in enumerate(results):
            if not isinstance(item, dict) or not isinstance(item.get("ok"), bool):
                raise HostError(f"the host's batch reply item {i} is not {{ok, result|error}}: {str(item)[:200]}")
        return results

    def close(self) -> None:
        """Closes the host: its stdin closes, it closes every env (trails flushed) and exits."""
        self._closed = True
        self._finalizer()

    def __enter__(self) -> Host:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _exchange(self, message: dict[str, Any], code_of: Callable[[str], str]) -> dict[str, Any]:
        with self._lock:
            if self._closed:
                raise HostError(f"the host is closed{self._closed_why}", self._proc.poll(), self._stderr.tail())
            request_id = next(self._ids)
            try:
                line = encode_line({"id": request_id, **message})
            except Unencodable as bad:
                raise unencodable_error(bad, code_of(bad.field)) from None
            stdin = self._proc.stdin
            assert stdin is not None
            try:
                stdin.write(line)
                stdin.flush()
                reply = self._read_reply(f"the reply to {message['op']}")
            except (BrokenPipeError, OSError, ValueError):
                raise self._died(f"the host died before it read the {message['op']} request") from None
            except HostError:
                raise
            except BaseException:
                # Interrupted (Ctrl-C, a timeout signal) between the request and its reply: that reply
                # would be read as the next request's. The connection cannot be trusted again.
                self._abandon(f" (a {message['op']} request was interrupted before its reply)")
                raise
        if not isinstance(reply, dict):
            raise HostError(f"the host's reply is not an object: {str(reply)[:200]}")
        if reply.get("id") is None and reply.get("ok") is False:
            # A line the host could not read an id from (too large, not JSON): its error is ours.
            return reply
        if reply.get("id") != request_id:
            self._abandon(" (its replies were out of step)")
            raise HostError(f"the host replied to id {reply.get('id')!r} while waiting for id {request_id}: the protocol is out of step, the host was closed")
        return reply

    def _abandon(self, why: str) -> None:
        """Closes a host whose replies can no longer be matched to requests; later requests say ``why``."""
        self._closed = True
        self._closed_why = why
        self._finalizer()

    def _await_output(self, timeout_s: float) -> None:
        """Waits for the host's first output (nothing is buffered yet, so select on the pipe is exact)."""
        stdout = self._proc.stdout
        assert stdout is not None
        readable, _, _ = select.select([stdout.fileno()], [], [], timeout_s)
        if not readable:
            self._proc.kill()
            raise self._died(f"the host wrote no ready line within {timeout_s:g} s and was killed")

    def _read_reply(self, what: str) -> Any:
        stdout = self._proc.stdout
        assert stdout is not None
        try:
            line = stdout.readline()
        except (OSError, ValueError):
            line = b""
        if not line:
            raise self._died(f"the host exited before writing {what}")
        return decode_line(line)

    def _died(self, message: str) -> HostError:
        """The host is gone: reap it (briefly) for its exit code and stderr, and refuse further requests."""
        self._closed = True
        try:
            code = self._proc.wait(5.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        error = HostError(message, code, self._stderr.tail(wait_s=1.0))
        self._finalizer()
        return error
