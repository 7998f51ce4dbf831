"""The numpy agents on their own: the update rule, masks, ties, determinism, learning on a tiny world.

The tiny world here is a unit-test fixture for the agents' arithmetic only; the agents are verified on
the real environment through the host in test_train.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from policy_kernel.agents import AgentConfig, QLearningAgent, SoftmaxAgent, SoftmaxConfig, allowed_actions


def test_update_follows_the_q_learning_rule() -> None:
    agent = QLearningAgent(2, 3, AgentConfig(alpha=0.5, gamma=0.9, initial_value=10.0), rng=1)
    agent.update(0, 1, -4.0, 0, np.array([1, 0, 1]))
    # target = -4 + 0.9 * max(q[0,0], q[0,2]) = -4 + 9 = 5; q = 10 + 0.5 * (5 - 10) = 7.5
    assert agent.q[0, 1] == pytest.approx(7.5)
    agent.update(0, 2, 3.0, None)
    assert agent.q[0, 2] == pytest.approx(10 + 0.5 * (3 - 10))
    # A masked-out next action does not count in the bootstrap.
    agent.q[1] = [100.0, 1.0, 2.0]
    agent.update(0, 0, 0.0, 1, np.array([0, 1, 1]))
    assert agent.q[0, 0] == pytest.approx(10 + 0.5 * (0.9 * 2.0 - 10))


def test_epsilon_decays_linearly_then_stays() -> None:
    agent = QLearningAgent(1, 2, AgentConfig(epsilon_start=1.0, epsilon_end=0.1, decay_fraction=0.5))
    assert agent.epsilon(0, 100) == pytest.approx(1.0)
    assert agent.epsilon(25, 100) == pytest.approx(0.55)
    assert agent.epsilon(50, 100) == pytest.approx(0.1)
    assert agent.epsilon(99, 100) == pytest.approx(0.1)


def test_masked_actions_are_never_chosen() -> None:
    agent = QLearningAgent(1, 4, rng=3)
    mask = np.array([0, 1, 0, 1], dtype=np.int8)
    chosen = {agent.act(0, mask, epsilon) for epsilon in (0.0, 1.0) for _ in range(200)}
    assert chosen == {1, 3}
    with pytest.raises(ValueError, match="no action left"):
        agent.act(0, np.zeros(4, dtype=np.int8), 0.5)
    with pytest.raises(ValueError, match="n_actions"):
        agent.greedy(0, np.ones(6, dtype=np.int8))


def test_ties_are_broken_by_the_generator_not_by_index() -> None:
    agent = QLearningAgent(1, 3, rng=0)
    picks = {agent.greedy(0, np.ones(3, dtype=np.int8), np.random.default_rng(seed)) for seed in range(40)}
    assert picks == {0, 1, 2}
    agent.q[0, 2] += 1
    assert {agent.greedy(0, np.ones(3, dtype=np.int8), np.random.default_rng(seed)) for seed in range(10)} == {2}


def _bandit_run(agent: QLearningAgent, episodes: int) -> list[int]:
    """Task 0: action 0 is 'refused' (reward -5, masked, retry), action 1 pays 10 - 2, action 2 pays 10 - 1 but is refused too."""
    firsts = []
    for e in range(episodes):
        mask = np.array([1, 1, 1], dtype=np.int8)
        eps = agent.epsilon(e, episodes)
        first = True
        while True:
            action = agent.act(0, mask, eps)
            if first:
                firsts.append(action)
                first = False
            if action == 1:
                agent.update(0, action, 8.0, None)
                break
            mask[action] = 0
            agent.update(0, action, -5.0, 0, mask)
    return firsts


def test_q_learning_learns_to_stop_proposing_refused_actions() -> None:
    agent = QLearningAgent(1, 3, rng=7)
    firsts = _bandit_run(agent, 300)
    assert np.mean([a != 1 for a in firsts[:50]]) > 0.3
    assert np.mean([a != 1 for a in firsts[-50:]]) < 0.15
    assert agent.greedy(0, np.ones(3, dtype=np.int8)) == 1


def test_same_seed_same_table_other_seed_other_path() -> None:
    a, b, c = QLearningAgent(1, 3, rng=11), QLearningAgent(1, 3, rng=11), QLearningAgent(1, 3, rng=12)
    assert _bandit_run(a, 80) == _bandit_run(b, 80)
    assert a.table() == b.table()
    assert _bandit_run(c, 80) != _bandit_run(QLearningAgent(1, 3, rng=11), 80)


def test_softmax_agent_learns_the_paying_action() -> None:
    agent = SoftmaxAgent(1, 3, SoftmaxConfig(learning_rate=0.3), rng=5)
    mask = np.ones(3, dtype=np.int8)
    before = agent.probabilities(0, mask)[1]
    for _ in range(300):
        action = agent.act(0, mask)
        agent.record({0: -5.0, 1: 8.0, 2: 0.0}[action])
        agent.finish_episode()
    after = agent.probabilities(0, mask)
    assert before == pytest.approx(1 / 3)
    assert after[1] > 0.9
    assert agent.greedy(0, mask) == 1
    assert agent.probabilities(0, np.array([1, 0, 1]))[1] == 0.0


def test_softmax_record_before_act_is_an_error() -> None:
    with pytest.raises(ValueError, match="call act first"):
        SoftmaxAgent(1, 2).record(1.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"alpha": 1.5}, "alpha"), ({"gamma": -0.1}, "gamma"), ({"epsilon_end": "0.1"}, "epsilon_end"), ({"initial_value": float("nan")}, "initial_value")],
)
def test_bad_agent_config_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=f"AgentConfig.{field}"):
        AgentConfig(**kwargs)


@pytest.mark.parametrize(("n_states", "n_actions"), [(0, 3), (2, -1), (True, 2), (2.5, 2)])
def test_bad_table_shape_is_refused(n_states: object, n_actions: object) -> None:
    with pytest.raises(ValueError, match="expected a positive integer"):
        QLearningAgent(n_states, n_actions)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="SoftmaxConfig.temperature"):
        SoftmaxConfig(temperature=0)


def test_allowed_actions_needs_a_flat_mask() -> None:
    assert allowed_actions([0, 1, 1, 0]).tolist() == [1, 2]
    with pytest.raises(ValueError, match="1-D"):
        allowed_actions([[1, 0]])


def test_softmax_agent_runs_in_the_q_learning_loop() -> None:
    # The same act/update/epsilon calls the training loop makes for Q-learning.
    agent = SoftmaxAgent(1, 3, rng=2)
    assert agent.epsilon(0, 10) == 0.0
    for _ in range(200):
        mask = np.ones(3, dtype=np.int8)
        while True:
            action = agent.act(0, mask, agent.epsilon(0, 10))
            if action == 1:
                agent.update(0, action, 8.0, None)
                break
            mask[action] = 0
            agent.update(0, action, -5.0, 0, mask)
    assert agent.probabilities(0, np.ones(3, dtype=np.int8))[1] > 0.8
    agent.act(0, np.ones(3, dtype=np.int8))
    with pytest.raises(ValueError, match="not the last action"):
        agent.update(0, 99, 1.0, None)
