"""Registers the package's environments with Gymnasium (on import, and as a ``gymnasium.envs`` entry point)."""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

SQL_ENV_ID = "policy_kernel/GovernedSQL-v0"


def register_envs() -> None:
    """Registers ``policy_kernel/GovernedSQL-v0``; a second call does nothing (no override warning)."""
    if SQL_ENV_ID not in registry:
        register(id=SQL_ENV_ID, entry_point="policy_kernel.sql_env:GovernedSQLEnv")
