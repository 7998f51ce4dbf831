"""Finding the host command: POLICY_KERNEL_CLI, else ``policy-kernel`` on PATH."""

from __future__ import annotations

import os
import shlex
import shutil

from .errors import HostNotFound

ENV_VAR = "POLICY_KERNEL_CLI"


def find_cli() -> list[str]:
    """The command line that runs the policy-kernel CLI, as a list of arguments.

    ``POLICY_KERNEL_CLI`` (a shell-quoted command line such as ``node /path/dist/src/cli/main.js``)
    wins; else ``policy-kernel`` on PATH; else HostNotFound saying how to install it.
    """
    configured = os.environ.get(ENV_VAR)
    if configured is not None:
        try:
            parts = shlex.split(configured)
        except ValueError as error:
            raise HostNotFound(f"{ENV_VAR} is not a command line ({error}): {configured!r}") from None
        if not parts:
            raise HostNotFound(f"{ENV_VAR} is set but empty; unset it or set it to a command such as \"node /path/dist/src/cli/main.js\"")
        return parts
    found = shutil.which("policy-kernel")
    if found:
        return [found]
    raise HostNotFound(
        "the policy-kernel CLI was not found: install it with `npm install -g policy-kernel`, "
        f"or build the repository (`make build`) and set {ENV_VAR}=\"node /path/to/policy-kernel/dist/src/cli/main.js\""
    )
