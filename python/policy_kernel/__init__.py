"""Governed RL training from Python: the policy-kernel host as Gymnasium environments.

``Kernel`` evaluates actions; ``GovernedSQLEnv`` (``gymnasium.make("policy_kernel/GovernedSQL-v0")``)
is the demo's SQL task world; ``GovernanceWrapper`` governs any Gymnasium env. Each talks to a
``policy-kernel serve --stdio`` host found by :func:`find_cli`.
"""

from __future__ import annotations

from ._registration import register_envs
from .cli import find_cli
from .errors import (
    EnvClosed,
    HostError,
    HostNotFound,
    InvalidAction,
    InvalidConfig,
    InvalidStep,
    PolicyKernelError,
    ResetNeeded,
)
from .host import Host
from .kernel import Kernel
from .sql_env import GovernedSQLEnv
from .types import Decision, Provenance, RewardParts, TrailInfo, Violation
from .vector import GovernedSQLVectorEnv, register_vector_entry_point
from .wrapper import GovernanceWrapper

__version__ = "0.1.0"

register_envs()
register_vector_entry_point()

__all__ = [
    "Decision",
    "EnvClosed",
    "GovernanceWrapper",
    "GovernedSQLEnv",
    "GovernedSQLVectorEnv",
    "Host",
    "HostError",
    "HostNotFound",
    "InvalidAction",
    "InvalidConfig",
    "InvalidStep",
    "Kernel",
    "PolicyKernelError",
    "Provenance",
    "ResetNeeded",
    "RewardParts",
    "TrailInfo",
    "Violation",
    "find_cli",
    "register_envs",
]
