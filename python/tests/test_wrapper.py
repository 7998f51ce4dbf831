"""GovernanceWrapper over a stock Gymnasium env (FrozenLake): denied moves never reach it."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

from conftest import EXAMPLES
from policy_kernel import Decision, EnvClosed, GovernanceWrapper, Host, InvalidAction, InvalidConfig, ResetNeeded

pytestmark = pytest.mark.usefixtures("require_build")

RULES = EXAMPLES / "frozen_lake_rules.json"
LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
DIRECTIONS = {LEFT: "left", DOWN: "down", RIGHT: "right", UP: "up"}


def move(action: Any) -> dict[str, Any]:
    """A FrozenLake action as the kernel action body the rules judge."""
    return {"type": "tool_call", "tool": "move", "args": {"direction": DIRECTIONS[int(action)]}}


class CountSteps(gym.Wrapper[Any, Any, Any, Any]):
    """Records every action that reaches the inner env."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        self.seen: list[int] = []

    def step(self, action: Any) -> Any:
        self.seen.append(int(action))
        return self.env.step(action)


@pytest.fixture(scope="module")
def lake_host() -> Any:
    with Host(["--no-bundle", "--rules", str(RULES)]) as host:
        yield host


def lake(host: Host, **kwargs: Any) -> tuple[GovernanceWrapper[Any, Any], CountSteps]:
    inner = CountSteps(gym.make("FrozenLake-v1", is_slippery=False).unwrapped)
    return GovernanceWrapper(inner, to_action=move, host=host, **kwargs), inner


def test_a_denied_move_never_reaches_the_inner_env(lake_host: Host) -> None:
    env, inner = lake(lake_host)
    obs, _ = env.reset(seed=0)
    moved, reward, terminated, truncated, info = env.step(UP)
    assert inner.seen == []
    assert moved == obs and not terminated and not truncated
    assert info["blocked"] is True and isinstance(info["decision"], Decision) and not info["decision"].allowed
    assert [v.rule for v in info["violations"]] == ["no_up"]
    assert reward == info["penalty"] < 0
    env.step(DOWN)
    assert inner.seen == [DOWN]
    env.close()


def test_penalties_follow_the_reward_config(lake_host: Host) -> None:
    default, _ = lake(lake_host)
    custom, _ = lake(lake_host, reward_config={"high_penalty": -7, "low_penalty": -0.25})
    rewards = {}
    for name, env in (("default", default), ("custom", custom)):
        env.reset(seed=0)
        rewards[name] = (env.step(UP)[1], env.step(RIGHT)[1])
        env.close()
    assert rewards["custom"] == (-7.0, -0.25)
    assert rewards["default"][0] < rewards["custom"][0] and rewards["default"][1] < rewards["custom"][1]


def test_an_allowed_move_adds_the_warning_penalty_to_the_inner_reward(lake_host: Host) -> None:
    env, inner = lake(lake_host, reward_config={"low_penalty": -0.5})
    plain = gym.make("FrozenLake-v1", is_slippery=False).unwrapped
    env.reset(seed=0)
    plain.reset(seed=0)
    obs, reward, terminated, _, info = env.step(RIGHT)
    plain_obs, plain_reward, plain_terminated, _, plain_info = plain.step(RIGHT)
    assert inner.seen == [RIGHT]
    assert obs == plain_obs and terminated == plain_terminated
    assert reward == plain_reward - 0.5
    assert info["blocked"] is False and info["prob"] == plain_info["prob"]
    env.close()


def test_a_critical_violation_terminates(lake_host: Host) -> None:
    env, inner = lake(lake_host)
    env.reset(seed=0)
    _, _, terminated, truncated, info = env.step(LEFT)
    assert terminated and not truncated and info["blocked"]
    assert inner.seen == []
    with pytest.raises(ResetNeeded):
        env.step(DOWN)
    env.close()
    keep_going, inner = lake(lake_host, terminate_on_critical=False)
    keep_going.reset(seed=0)
    assert keep_going.step(LEFT)[2] is False
    keep_going.close()


def test_every_decision_is_in_the_trail(lake_host: Host, tmp_path: Path) -> None:
    path = tmp_path / "lake.jsonl"
    env, inner = lake(lake_host, trail_path=path, chain_id="lake-test")
    checks = 0
    env.reset(seed=0)
    for action in [UP, DOWN, RIGHT, UP, DOWN, RIGHT, DOWN, RIGHT]:
        _, _, terminated, truncated, _ = env.step(action)
        checks += 1
        if terminated or truncated:
            env.reset(seed=0)
    env.close()
    lines = [json.loads(line) for line in path.read_text().splitlines() if '"seq"' in line]  # entries, not checkpoints
    assert env.trail_info is not None and env.trail_info.verified is True and env.trail_info.entries == len(lines)
    assert sum(1 for e in lines if e["type"] == "policy_check") == checks
    assert sum(1 for e in lines if e["type"] == "tool_call") == len(inner.seen)
    assert {e["chainId"] for e in lines} == {"lake-test"}


def test_check_env_passes_on_the_wrapped_env(lake_host: Host) -> None:
    # From gymnasium.make, so check_env can build it again from its spec (the wrapper records its arguments).
    env = GovernanceWrapper(gym.make("FrozenLake-v1", is_slippery=False), to_action=move, host=lake_host)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)
    env.close()
    # check_env always says a wrapper is not its unwrapped env; nothing else may be said.
    others = [str(w.message) for w in caught if "unwrapped" not in str(w.message)]
    assert others == []


def test_a_context_function_gets_each_action(lake_host: Host) -> None:
    seen: list[int] = []

    def context(action: Any) -> dict[str, Any]:
        seen.append(int(action))
        return {"role": "explorer"}

    env, _ = lake(lake_host, context=context)
    env.reset(seed=0)
    env.step(DOWN)
    env.step(UP)
    assert seen == [DOWN, UP]
    env.close()


def test_bad_actions_and_options_are_refused(lake_host: Host) -> None:
    # A malformed body, or a full action smuggling its own context, is denied as env.step denies it in TypeScript.
    for body, rule in (({"type": "tool_call", "tool": ""}, "invalid_action"), ({"agentId": "evil", "action": move(DOWN), "context": {"role": "admin"}}, "agent_context")):
        inner = CountSteps(gym.make("FrozenLake-v1").unwrapped)
        denied = GovernanceWrapper(inner, to_action=lambda a, body=body: body, host=lake_host)
        denied.reset(seed=0)
        _, _, terminated, _, info = denied.step(DOWN)
        assert info["blocked"] and inner.seen == [] and terminated
        assert [(v.policy, v.rule) for v in info["violations"]] == [("kernel", rule)]
        denied.close()
    env = GovernanceWrapper(gym.make("FrozenLake-v1").unwrapped, to_action=move, host=lake_host)
    nan = GovernanceWrapper(gym.make("FrozenLake-v1").unwrapped, to_action=lambda a: {"type": "transaction", "amountUsd": float("nan"), "recipient": "r"}, host=lake_host)
    nan.reset(seed=0)
    with pytest.raises(InvalidAction) as caught:
        nan.step(DOWN)
    assert caught.value.field == "action.amountUsd"
    with pytest.raises(InvalidConfig, match="to_action"):
        GovernanceWrapper(gym.make("FrozenLake-v1").unwrapped, to_action="move", host=lake_host)  # type: ignore[arg-type]
    env.close()
    nan.close()
    with pytest.raises(EnvClosed):
        env.step(DOWN)


def test_step_before_reset_is_reset_needed(lake_host: Host) -> None:
    env, inner = lake(lake_host)
    with pytest.raises(ResetNeeded):
        env.step(DOWN)
    env.close()


def test_outcome_costs_sum_into_the_budget_until_reset(shared_host: Host, tmp_path: Path) -> None:
    # The default library's cost policy blocks once costUsd + spentUsd passes 100 USD: spentUsd is
    # the gate's own sum of what `outcome` reported, per episode.
    path = tmp_path / "cost.jsonl"
    inner = CountSteps(gym.make("FrozenLake-v1", is_slippery=False).unwrapped)
    env = GovernanceWrapper(
        inner,
        to_action=lambda a: {"type": "sql", "sql": "SELECT 1"},
        outcome=lambda obs, reward, terminated, truncated, info: {"success": True, "cost_usd": 40, "result": {"state": int(obs)}},
        host=shared_host,
        trail_path=path,
    )
    env.reset(seed=0)
    blocked = [env.step(RIGHT)[4]["blocked"] for _ in range(4)]
    assert blocked == [False, False, False, True]
    assert len(inner.seen) == 3
    env.reset(seed=0)
    assert env.step(RIGHT)[4]["blocked"] is False
    env.close()
    tool_calls = [json.loads(line) for line in path.read_text().splitlines() if '"tool_call"' in line]
    assert len(tool_calls) == 4 and tool_calls[0]["result"] == {"state": 1}
    with pytest.raises(InvalidConfig, match="outcome"):
        GovernanceWrapper(gym.make("FrozenLake-v1").unwrapped, to_action=move, outcome={"success": True}, host=shared_host)  # type: ignore[arg-type]


def test_denied_steps_count_toward_the_step_budget(lake_host: Host) -> None:
    # The inner env's TimeLimit never sees a denied step: the wrapper counts them, so an agent stuck
    # on a refused move is truncated at the env's max_episode_steps all the same.
    inner = CountSteps(gym.make("FrozenLake-v1", is_slippery=False, max_episode_steps=5))
    env = GovernanceWrapper(inner, to_action=move, host=lake_host)
    env.reset(seed=0)
    flags = [env.step(UP)[2:4] for _ in range(5)]
    assert flags == [(False, False)] * 4 + [(False, True)]
    assert inner.seen == []
    with pytest.raises(ResetNeeded):
        env.step(UP)
    env.reset(seed=0)
    assert env.step(DOWN)[2:4] == (False, False)  # the count starts again
    mixed = GovernanceWrapper(CountSteps(gym.make("FrozenLake-v1", is_slippery=False)), to_action=move, host=lake_host, max_episode_steps=2)
    mixed.reset(seed=0)
    assert [mixed.step(a)[3] for a in (UP, DOWN)] == [False, True]  # a denied, then an allowed step
    with pytest.raises(InvalidConfig, match="max_episode_steps"):
        GovernanceWrapper(gym.make("FrozenLake-v1"), to_action=move, host=lake_host, max_episode_steps=0)
    env.close()
    mixed.close()
