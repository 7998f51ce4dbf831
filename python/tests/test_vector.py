"""GovernedSQLVectorEnv: the same answers as N single envs, Gymnasium's NEXT_STEP autoreset, one
message per step, and clear errors for bad actions and closed envs. Real host processes throughout."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import policy_kernel
from policy_kernel import EnvClosed, GovernedSQLEnv, GovernedSQLVectorEnv, Host, InvalidStep, ResetNeeded
from policy_kernel.errors import InvalidConfig

N = 3


@pytest.fixture(scope="module")
def host(require_build: None) -> Iterator[Host]:
    with Host() as shared:
        yield shared


@pytest.fixture(scope="module")
def other_host(require_build: None) -> Iterator[Host]:
    """A second host, so the single envs and the vector env compared with them never share one."""
    with Host() as shared:
        yield shared


def singles_next_step(envs: list[GovernedSQLEnv], seed: int, actions: np.ndarray) -> list[tuple[Any, ...]]:
    """Drive single envs as NEXT_STEP autoreset does; one (obs, reward, term, trunc, info) per env and step."""
    out: list[tuple[Any, ...]] = []
    done = [False] * len(envs)
    first = [env.reset(seed=seed + i) for i, env in enumerate(envs)]
    out.append(tuple((obs, 0.0, False, False, info) for obs, info in first))
    for row in actions:
        step: list[tuple[Any, ...]] = []
        for i, env in enumerate(envs):
            if done[i]:
                obs, info = env.reset()
                step.append((obs, 0.0, False, False, info))
                done[i] = False
            else:
                obs, reward, terminated, truncated, info = env.step(int(row[i]))
                step.append((obs, reward, terminated, truncated, info))
                done[i] = terminated or truncated
        out.append(tuple(step))
    return out


def column(infos: dict[str, Any], key: str, i: int) -> Any:
    """Sub-environment i's value of an info key, or a marker when its `_key` mask says it has none."""
    if key not in infos or not infos[f"_{key}"][i]:
        return "<absent>"
    return infos[key][i]


@pytest.mark.parametrize("seed,governed", [(3, True), (5, False)])
def test_vector_equals_single_envs(host: Host, other_host: Host, seed: int, governed: bool) -> None:
    actions = np.random.default_rng(seed).integers(0, 4, size=(14, N))
    # The single envs and the vector env live in different hosts.
    singles = [GovernedSQLEnv(governed=governed, host=host) for _ in range(N)]
    try:
        expected = singles_next_step(singles, seed, actions)
    finally:
        for env in singles:
            env.close()
    vector = GovernedSQLVectorEnv(N, governed=governed, host=other_host)
    try:
        got_obs, got_infos = vector.reset(seed=seed)
        got = [(got_obs, np.zeros(N), np.zeros(N, bool), np.zeros(N, bool), got_infos)]
        for row in actions:
            got.append(vector.step(row))
    finally:
        vector.close()
    decisions = 0
    for t, (want, (obs, rewards, terms, truncs, infos)) in enumerate(zip(expected, got, strict=True)):
        for i in range(N):
            w_obs, w_reward, w_term, w_trunc, w_info = want[i]
            where = f"step {t}, env {i}"
            assert obs["task"][i] == w_obs["task"], where
            assert np.array_equal(obs["mask"][i], w_obs["mask"]), where
            assert obs["step"][i] == w_obs["step"], where
            assert rewards[i] == w_reward, where
            assert terms[i] == w_term and truncs[i] == w_trunc, where
            for key in w_info:
                assert column(infos, key, i) == w_info[key], f"{where}, info[{key!r}]"
            present = {k for k in infos if not k.startswith("_") and infos[f"_{k}"][i]}
            assert present == set(w_info), where
            if w_info.get("decision") is not None:
                decisions += 1
    # The sequences are long enough to decide actions and to end episodes both ways.
    assert decisions > 10
    assert any(any(step[i][2] for i in range(N)) for step in expected)
    if governed:
        # Refused picks use up the step budget: episodes end by truncation too.
        assert any(any(step[i][3] for i in range(N)) for step in expected)


def test_next_step_autoreset(host: Host) -> None:
    with GovernedSQLVectorEnv(2, seed=1, host=host) as vector:
        vector.reset()
        # Step until env 0 ends an episode; the next step resets it and ignores its action.
        for _ in range(vector.sql_spec.max_steps):
            obs, rewards, terms, truncs, infos = vector.step(np.array([0, 1]))
            if terms[0] or truncs[0]:
                break
        assert terms[0] or truncs[0]
        obs, rewards, terms, truncs, infos = vector.step(np.array([3, 1]))
        assert rewards[0] == 0.0 and not terms[0] and not truncs[0]
        assert obs["step"][0] == 0
        # Env 0 has its reset info (a prompt) and no step info (no decision).
        assert infos["_prompt"][0]
        assert not infos.get("_decision", np.zeros(2, dtype=bool))[0]
        assert "episode" not in infos


def test_spaces_batch_the_single_env(host: Host) -> None:
    with GovernedSQLVectorEnv(3, host=host) as vector, GovernedSQLEnv(host=host) as single:
        assert vector.single_observation_space == single.observation_space
        assert vector.single_action_space == single.action_space
        assert vector.observation_space == gym.vector.utils.batch_space(single.observation_space, 3)
        obs, _ = vector.reset(seed=0)
        assert obs in vector.observation_space
        assert obs["mask"].dtype == np.int8 and obs["task"].dtype == np.int64
        assert vector.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP


def test_one_batch_message_per_step(host: Host) -> None:
    calls: list[int] = []
    original = host.batch

    def counting(requests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        calls.append(len(requests))
        return original(requests)

    # Counting what reaches the real host; the host itself still answers every request.
    host.batch = counting
    try:
        with GovernedSQLVectorEnv(5, host=host) as vector:
            vector.reset(seed=2)
            for _ in range(6):
                vector.step(vector.action_space.sample())
    finally:
        del host.batch
    assert calls == [5] * 7


def test_make_vec_vector_entry_point() -> None:
    envs = gym.make_vec("policy_kernel/GovernedSQL-v0", num_envs=3, vectorization_mode="vector_entry_point", seed=4)
    try:
        assert isinstance(envs.unwrapped, GovernedSQLVectorEnv)
        assert envs.num_envs == 3
        obs, _ = envs.reset()
        assert obs["task"].shape == (3,)
        envs.step(np.array([0, 1, 2]))
    finally:
        envs.close()
    assert "policy_kernel" in policy_kernel.__name__


def test_reset_mask_resets_only_selected(host: Host) -> None:
    with GovernedSQLVectorEnv(3, host=host) as vector:
        vector.reset(seed=9)
        obs, *_ = vector.step(np.array([0, 0, 0]))
        before = obs["step"].copy()
        obs, infos = vector.reset(options={"reset_mask": np.array([False, True, False])})
        assert obs["step"][1] == 0
        assert obs["step"][0] == before[0] and obs["step"][2] == before[2]
        assert infos["_task_id"].tolist() == [False, True, False]


@pytest.mark.parametrize(
    "actions",
    [
        np.array([0, 1, 2]),  # wrong shape
        np.array([[0, 1, 2, 3]]),
        np.array([0.0, 1.0, 2.0, 3.0]),  # floats
        np.array([0, np.nan, 1, 2]),
        np.array([True, False, True, False]),
        np.array([0, 1, 4, 2]),  # out of range
        np.array([0, -1, 1, 2]),
        ["a", "b", "c", "d"],
        None,
        {"__proto__": 1},
        np.array([2**63 - 1, 0, 0, 0]),
    ],
)
def test_bad_actions_change_nothing(host: Host, actions: Any) -> None:
    with GovernedSQLVectorEnv(4, host=host) as vector:
        obs, _ = vector.reset(seed=6)
        with pytest.raises(InvalidStep) as raised:
            vector.step(actions)
        assert raised.value.code == "invalid_step"
        assert raised.value.field is not None and raised.value.field.startswith("actions")
        assert "0..3" in (raised.value.expected or "")
        # Nothing was sent: every sub-environment is where it was, and still steps.
        after, *_ = vector.step(np.zeros(4, dtype=np.int64))
        assert (after["step"] == obs["step"] + 1).all()


def test_step_before_reset_and_after_close(host: Host) -> None:
    vector = GovernedSQLVectorEnv(2, host=host)
    with pytest.raises(ResetNeeded):
        vector.step(np.array([0, 0]))
    vector.reset(seed=1)
    vector.close()
    with pytest.raises(EnvClosed):
        vector.step(np.array([0, 0]))
    with pytest.raises(EnvClosed):
        vector.reset()
    vector.close()  # a second close is a no-op
    assert vector.trail_infos is not None and len(vector.trail_infos) == 2
    # The shared host outlives the vector env.
    assert host.request("hello")["protocol"] == 1


def test_owned_host_exits_on_close() -> None:
    vector = GovernedSQLVectorEnv(2)
    pid = vector.host.pid
    vector.close()
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(pid, 0)


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"num_envs": 0}, "num_envs"),
        ({"num_envs": True}, "num_envs"),
        ({"num_envs": 2, "seed": 1.5}, "seed"),
        ({"num_envs": 2, "governed": "yes"}, "governed"),
    ],
)
def test_bad_config(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidConfig) as raised:
        GovernedSQLVectorEnv(**kwargs)
    assert raised.value.field == field


def test_bad_reset_arguments(host: Host) -> None:
    with GovernedSQLVectorEnv(2, host=host) as vector:
        with pytest.raises(InvalidConfig):
            vector.reset(seed=[1])
        with pytest.raises(InvalidConfig):
            vector.reset(seed=[1, "x"])
        with pytest.raises(InvalidConfig):
            vector.reset(options={"reset_mask": [True, False]})
        with pytest.raises(InvalidConfig):
            vector.reset(options={"reset_mask": np.array([False, False])})
        with pytest.raises(InvalidConfig):
            vector.reset(options={"__proto__": {}})


def test_the_checks_check_env_makes_hold_for_the_vector_env(host: Host) -> None:
    """Gymnasium 1.x has no vector check_env: its single-env checks, applied to the batch."""
    from gymnasium.utils.env_checker import data_equivalence

    with GovernedSQLVectorEnv(3, host=host) as vector:
        first = vector.reset(seed=123)
        again = vector.reset(seed=123)
        # Reset seed determinism: the same seed, the same observations and info.
        assert data_equivalence(first, again, exact=True)
        assert not data_equivalence(first[0], vector.reset(seed=124)[0])
        vector.reset(seed=123)
        actions = np.array([1, 2, 0])
        obs_1, *rest_1 = vector.step(actions)
        kept = {key: value.copy() for key, value in obs_1.items()}
        obs_2, rewards, terminations, truncations, _ = vector.step(actions)
        # Returned data is not reused: a later step leaves an earlier observation as it was.
        assert data_equivalence(obs_1, kept, exact=True)
        for obs in (obs_1, obs_2):
            assert obs in vector.observation_space
        assert rewards.dtype == np.float64 and terminations.dtype == np.bool_ and truncations.dtype == np.bool_
        # Step determinism: the same seed and actions, the same results.
        vector.reset(seed=123)
        replay_1 = vector.step(actions)
        assert data_equivalence((obs_1, *rest_1), replay_1, exact=True)
