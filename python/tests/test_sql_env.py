"""GovernedSQLEnv: Gymnasium's contract (check_env), the spec's spaces and info, bad input refused as TS does."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from policy_kernel import Decision, EnvClosed, GovernedSQLEnv, Host, InvalidConfig, InvalidStep, ResetNeeded, RewardParts, Violation

pytestmark = pytest.mark.usefixtures("require_build")


@pytest.fixture
def env(shared_host: Host) -> Any:
    e = GovernedSQLEnv(seed=7, host=shared_host)
    yield e
    e.close()


def test_check_env_passes_without_warnings(shared_host: Host) -> None:
    env = GovernedSQLEnv(host=shared_host)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)
    env.close()
    assert [str(w.message) for w in caught] == []


def test_gymnasium_make_builds_it_by_its_id(shared_host: Host) -> None:
    env = gym.make("policy_kernel/GovernedSQL-v0", seed=3, host=shared_host)
    obs, info = env.reset()
    assert env.observation_space.contains(obs)
    assert isinstance(env.unwrapped, GovernedSQLEnv)
    env.close()


def test_spaces_follow_the_host_spec(env: GovernedSQLEnv) -> None:
    assert env.action_space == gym.spaces.Discrete(env.host_spec["actionCount"])
    assert env.observation_space["task"] == gym.spaces.Discrete(env.host_spec["taskCount"])
    assert env.observation_space["mask"] == gym.spaces.MultiBinary(env.host_spec["actionCount"])
    assert env.observation_space["step"] == gym.spaces.Discrete(env.max_steps + 1)
    assert len(env.tasks) == env.host_spec["taskCount"]
    assert env.metadata["render_modes"] == [] and env.render_mode is None


def test_the_same_seed_gives_the_same_reset(env: GovernedSQLEnv) -> None:
    first = env.reset(seed=11)
    env.step(0)
    second = env.reset(seed=11)
    assert first[1] == second[1]
    for key in ("task", "step"):
        assert first[0][key] == second[0][key]
    assert np.array_equal(first[0]["mask"], second[0]["mask"])
    assert "episode" not in first[1]
    assert first[1]["task_id"] == env.tasks[int(first[0]["task"])]["id"]


def test_the_constructor_seed_is_used_by_the_first_reset(shared_host: Host) -> None:
    a = GovernedSQLEnv(seed=5, host=shared_host)
    b = GovernedSQLEnv(host=shared_host)
    obs_a, info_a = a.reset()
    obs_b, info_b = b.reset(seed=5)
    assert info_a == info_b and obs_a["task"] == obs_b["task"]
    a.close()
    b.close()


def test_task_index_option_picks_the_task(env: GovernedSQLEnv) -> None:
    obs, info = env.reset(seed=1, options={"task_index": 4})
    assert int(obs["task"]) == 4 and info["task_id"] == env.tasks[4]["id"]


def test_a_step_reports_typed_info(env: GovernedSQLEnv) -> None:
    env.reset(seed=2)
    obs, reward, terminated, truncated, info = env.step(np.int64(0))
    assert env.observation_space.contains(obs)
    assert isinstance(reward, float) and isinstance(terminated, bool) and isinstance(truncated, bool)
    assert set(info) >= {"decision", "violations", "blocked", "executed", "success", "task_id", "candidate_id", "invalid_action", "reward_parts"}
    assert "episode" not in info
    assert isinstance(info["reward_parts"], RewardParts) and info["reward_parts"].total == pytest.approx(reward)
    assert info["decision"] is None or isinstance(info["decision"], Decision)
    assert all(isinstance(v, Violation) for v in info["violations"])


def test_an_episode_ends_terminated_or_truncated_at_the_step_budget(env: GovernedSQLEnv) -> None:
    # Walk each task's candidates in order; every episode ends within max_steps.
    for task in range(len(env.tasks)):
        env.reset(seed=0, options={"task_index": task})
        for step in range(env.max_steps):
            obs, _, terminated, truncated, info = env.step(step)
            if terminated or truncated:
                break
        assert terminated or truncated
        assert not (terminated and truncated)
        if truncated:
            assert int(obs["step"]) == env.max_steps
        with pytest.raises(ResetNeeded):
            env.step(0)


def test_governed_blocks_what_ungoverned_runs(shared_host: Host) -> None:
    governed = GovernedSQLEnv(host=shared_host)
    ungoverned = GovernedSQLEnv(governed=False, host=shared_host)
    blocked_governed = blocked_ungoverned = violations_ungoverned = 0
    for task in range(len(governed.tasks)):
        for action in range(4):
            for env in (governed, ungoverned):
                env.reset(seed=0, options={"task_index": task})
                _, _, _, _, info = env.step(action)
                if info["invalid_action"]:
                    continue
                if env is governed:
                    blocked_governed += info["blocked"]
                    # governed: a blocking violation never executes
                    assert not (info["executed"] and any(v.blocked for v in info["violations"]))
                else:
                    blocked_ungoverned += info["blocked"]
                    violations_ungoverned += len(info["kernel_decision"].violations)
    assert blocked_governed > 0
    assert blocked_ungoverned == 0
    assert violations_ungoverned > 0, "the ungoverned arm still sees (observes) the violations"
    governed.close()
    ungoverned.close()


@pytest.mark.parametrize(
    "action",
    [1.0, 0.5, "1", True, np.bool_(False), np.float64(1.0), np.array([0, 1]), np.array([1]), np.array(1.0), None, [1]],
)
def test_a_wrong_action_type_is_invalid_step(env: GovernedSQLEnv, action: Any) -> None:
    env.reset(seed=0)
    with pytest.raises(InvalidStep) as caught:
        env.step(action)
    assert caught.value.field == "action"
    assert "Discrete(4)" in str(caught.value)


@pytest.mark.parametrize("action", [4, -1, 2**40, np.int64(9)])
def test_an_action_out_of_range_is_invalid_step_from_the_host(env: GovernedSQLEnv, action: Any) -> None:
    env.reset(seed=0)
    with pytest.raises(InvalidStep):
        env.step(action)


def test_numpy_integers_are_actions(env: GovernedSQLEnv) -> None:
    for action in (np.int8(0), np.uint16(0), np.array(0), np.int32(0)):
        env.reset(seed=3)
        env.step(action)


def test_step_before_reset_is_reset_needed(env: GovernedSQLEnv) -> None:
    with pytest.raises(ResetNeeded):
        env.step(0)


def test_a_closed_env_is_env_closed(shared_host: Host) -> None:
    env = GovernedSQLEnv(host=shared_host)
    env.reset(seed=0)
    env.close()
    env.close()  # a second close does nothing
    for call in (lambda: env.reset(), lambda: env.step(0), env.trail, env.metrics):
        with pytest.raises(EnvClosed):
            call()
    assert not shared_host.closed


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reward_config": {"critical_penalty": 5}}, "criticalPenalty"),
        ({"reward_config": {"no_such_field": 1}}, "noSuchField"),
        ({"reward_config": {"low_penalty": float("nan")}}, "lowPenalty"),
        ({"row_budget": -1}, "rowBudget"),
        ({"render_mode": "human"}, "render_mode"),
        ({"seed": 1.5}, "seed"),
        ({"kernel_args": "--no-bundle"}, "kernel_args"),
    ],
)
def test_bad_options_are_refused_naming_the_field(shared_host: Host, kwargs: dict[str, Any], field: str) -> None:
    if "kernel_args" not in kwargs:
        kwargs = {**kwargs, "host": shared_host}
    with pytest.raises((InvalidConfig, Exception)) as caught:
        GovernedSQLEnv(**kwargs)
    assert field in str(caught.value)


def test_the_trail_file_holds_every_decision_and_verifies(shared_host: Host, tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    env = GovernedSQLEnv(host=shared_host, trail_path=path, chain_id="py-test")
    decisions = 0
    for task in range(3):
        env.reset(seed=0, options={"task_index": task})
        _, _, _, _, info = env.step(1)
        decisions += info["decision"] is not None
    live = env.trail()
    env.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert env.trail_info is not None and env.trail_info.verified is True
    entries = [line for line in lines if "seq" in line]  # the rest are signed checkpoints
    assert [e["seq"] for e in entries] == list(range(len(entries)))
    assert env.trail_info.path == str(path) and env.trail_info.entries == len(entries) >= live.entries
    assert sum(1 for entry in entries if entry["type"] == "policy_check") == decisions
    assert lines[-1]["type"] == "checkpoint" and lines[-1]["final"] is True
    assert {entry["chainId"] for entry in lines} == {"py-test"}


def test_many_envs_share_one_host_and_batch_equals_single(shared_host: Host) -> None:
    single = [GovernedSQLEnv(host=shared_host) for _ in range(3)]
    batched = [GovernedSQLEnv(host=shared_host) for _ in range(3)]
    seeds, actions = [4, 5, 6], [[0, 1, 2], [3, 2, 1], [1, 1, 0]]
    expected = []
    for env, seed, acts in zip(single, seeds, actions):
        env.reset(seed=seed)
        run = [env.host.request("step", env=env.handle, action=a) for a in acts[:1]]
        expected.append(run[0])
    got = shared_host.batch([{"op": "reset", "env": e.handle, "seed": s} for e, s in zip(batched, seeds)])
    assert all(item["ok"] for item in got)
    got = shared_host.batch([{"op": "step", "env": e.handle, "action": acts[0]} for e, acts in zip(batched, actions)])
    # Each env numbers its own episodes, so replies equal key for key.
    assert [item["result"] for item in got] == expected
    for env in single + batched:
        env.close()


def test_the_trail_file_verifies_with_the_cli(shared_host: Host, tmp_path: Path) -> None:
    import os
    import shlex
    import subprocess

    path = tmp_path / "cli.jsonl"
    env = GovernedSQLEnv(host=shared_host, trail_path=path)
    env.reset(seed=9)
    env.step(0)
    env.close()
    command = [*shlex.split(os.environ["POLICY_KERNEL_CLI"]), "verify", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sealed" in done.stdout
    # One flipped byte in an entry breaks it.
    text = path.read_text()
    path.write_text(text.replace('"seq":0', '"seq":1', 1))
    assert subprocess.run(command, capture_output=True, text=True, check=False).returncode != 0


def test_penalties_follow_the_reward_config(shared_host: Host) -> None:
    # Find a task/action the default policies block, then price it under two configs.
    probe = GovernedSQLEnv(host=shared_host)
    found = None
    for task in range(len(probe.tasks)):
        for action in range(4):
            probe.reset(seed=0, options={"task_index": task})
            info = probe.step(action)[4]
            if info["blocked"] and not info["invalid_action"]:
                found = (task, action, info)
                break
        if found:
            break
    probe.close()
    assert found is not None
    task, action, info = found
    severities = {v.severity for v in info["violations"]}
    config = {f"{s}_penalty": -3 for s in ("critical", "high", "medium", "low")}
    cheap = GovernedSQLEnv(host=shared_host, reward_config=config)
    cheap.reset(seed=0, options={"task_index": task})
    parts = cheap.step(action)[4]["reward_parts"]
    cheap.close()
    assert severities and parts.violations == -3 * len(info["violations"])
    assert info["reward_parts"].violations < parts.violations
