"""GovernedSQLEnv whose step info also carries the kernel's own decision in the ungoverned arm.

The ungoverned arm's kernel only observes: the env is told "allowed, no violations" and the host's step
info carries the real decision as ``kernelDecision`` (what the trail records). The learning-agent tables
count attempted violations from that real decision, so this env exposes it as ``info["kernel_decision"]``
(a :class:`~policy_kernel.types.Decision`, or None in the governed arm, where ``decision`` is the real one).
"""

from __future__ import annotations

from typing import Any, cast

from gymnasium import spaces

from ._convert import discrete_action
from .sql_env import GovernedSQLEnv, step_result
from .types import Decision


class ObservedSQLEnv(GovernedSQLEnv):
    """:class:`~policy_kernel.GovernedSQLEnv` plus ``info["kernel_decision"]`` (the ungoverned arm's real decision)."""

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """As :meth:`GovernedSQLEnv.step`, keeping the host's ``kernelDecision``."""
        self._check_open()
        index = discrete_action(action, int(cast(spaces.Discrete, self.action_space).n))
        result = self.host.request("step", env=self.handle, action=index)
        observation, reward, terminated, truncated, info = step_result(self, result)
        raw_info = result.get("info")
        raw = raw_info.get("kernelDecision") if isinstance(raw_info, dict) else None
        info.setdefault("kernel_decision", None if raw is None else Decision.from_json(raw, "info.kernelDecision"))
        return observation, reward, terminated, truncated, info
