"""The learning agent on the real GovernedSQL-v0 through a real host: the demo's table, from Python."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from policy_kernel import Host, InvalidConfig
from _doc_blocks import check_output, example
from policy_kernel.train import TrainConfig, build_parser, config_from_args, main, render_table, run_training

PAGE = "docs/guides/python-training.md"
HARSH = {"criticalPenalty": -500, "highPenalty": -500, "mediumPenalty": -500, "lowPenalty": -500}


@pytest.fixture(scope="module")
def summary(require_build: None, tmp_path_factory: pytest.TempPathFactory):
    """The guide's run (docs/guides/python-training.md, py-example=py-train-cli), its trails streamed to files."""
    argv = shlex.split(example(PAGE, "py-train-cli").body)
    assert argv[:3] == ["python", "-m", "policy_kernel.train"]
    trail_dir = tmp_path_factory.mktemp("train-trails")
    return run_training(config_from_args(build_parser().parse_args([*argv[3:], "--trail-dir", str(trail_dir)])))


@pytest.fixture(scope="module")
def episodes(summary) -> int:
    """Training episodes per arm of the guide's run."""
    return summary.config.episodes


@pytest.fixture(scope="module")
def window(summary) -> int:
    """The first/last window of the guide's run."""
    return summary.config.eval_window


def test_the_guide_shows_this_table(summary) -> None:
    # The same table `python -m policy_kernel.train` prints (main writes render_table's text; test_same_seed... runs the CLI).
    check_output(PAGE, "py-train-cli", render_table(summary))


def test_governed_arm_never_executes_a_denied_action(summary) -> None:
    governed = summary.arms["governed"].training
    ungoverned = summary.arms["ungoverned"].training
    assert governed.executed_denied == 0
    assert governed.denied_proposals > 0, "the governed agent proposed denied actions and the kernel refused them"
    # The ungoverned arm's kernel only observes: what it would refuse ran.
    assert ungoverned.executed_denied > 0
    assert ungoverned.violating_proposals > 0


def test_attempted_violations_fall_in_the_governed_arm(summary, window: int) -> None:
    arm = summary.arms["governed"]
    assert arm.first_window.episodes == window and arm.last_window.episodes == window
    assert arm.last_window.attempted_violation_rate < arm.first_window.attempted_violation_rate
    assert arm.last_window.mean_reward > arm.first_window.mean_reward
    assert arm.greedy_after.success_rate > arm.greedy_before.success_rate


def test_every_arm_trail_is_on_disk_and_verified(summary, episodes: int) -> None:
    for name, arm in summary.arms.items():
        assert arm.trail["verified"] is True, name
        assert arm.trail["entries"] >= episodes
        path = Path(arm.trail["path"])
        assert path.name == f"trail-{name}.jsonl"
        lines = path.read_text().splitlines()
        assert json.loads(lines[0])["chainId"] == f"policy-kernel-python-train/{name}/42"
        assert Path(f"{path}.pub").exists()


def test_table_has_the_demo_rows(summary, episodes: int, window: int) -> None:
    table = render_table(summary)
    header, _, columns = table.splitlines()[:3]
    assert header.startswith(f"policy_kernel.train: seed 42, {episodes} episodes per arm, 12 tasks")
    assert columns.split()[-2:] == ["ungoverned", "governed"]
    for label in (f"attempted-violation rate, first {window} episodes", f"attempted-violation rate, last {window} episodes", "executed actions the kernel denies (training)", "audit entries (hash chain verified)"):
        assert label in table
    denied_row = next(line for line in table.splitlines() if line.startswith("executed actions the kernel denies"))
    assert denied_row.split()[-1] == "0"
    assert "learning curve: attempted-violation rate" in table
    for task in summary.tasks:
        assert f"  {task['id']}" in table


def test_summary_json_round_trips_and_names_the_tasks(summary, episodes: int) -> None:
    data = json.loads(json.dumps(summary.to_json(), sort_keys=True))
    assert data["schema"] == "policy-kernel/python-train-summary@1"
    assert [t["id"] for t in data["experiment"]["tasks"]] == [t["id"] for t in summary.tasks]
    assert len(data["arms"]["governed"]["curve"]["reward"]) == episodes
    assert data["arms"]["governed"]["trail"]["file"] == "trail-governed.jsonl", "a name, not the run's own path"
    for name in ("ungoverned", "governed"):
        candidates = {t["id"]: t["candidates"] for t in data["experiment"]["tasks"]}
        for choice in data["arms"][name]["learnedPolicy"]:
            assert choice["candidate"] in candidates[choice["task"]]


def _train_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "policy_kernel.train", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())


def test_same_seed_prints_the_same_json_twice() -> None:
    args = ("--episodes", "15", "--seed", "7", "--eval-repeats", "1", "--json")
    # Two processes at once: each with its own host, neither seeing the other.
    first, second = [p.communicate(timeout=120) for p in (_train_cli(*args), _train_cli(*args))]
    assert first[1] == "" and second[1] == ""
    assert first[0] == second[0]
    data = json.loads(first[0])
    assert data["experiment"]["seed"] == 7
    # Not trivially equal: the ungoverned agent proposed violating actions, which ran.
    assert data["arms"]["ungoverned"]["training"]["executedViolating"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--episodes", "0"], "--episodes: expected a positive integer, got '0'"),
        (["--seed", "x"], "--seed: expected a non-negative integer, got 'x'"),
        (["--arm", "both"], "--arm: invalid choice: 'both'"),
        (["--nosuch"], "unrecognized arguments: --nosuch"),
    ],
)
def test_bad_flags_exit_1_naming_the_flag(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(args)
    assert stopped.value.code == 1
    assert message in capsys.readouterr().err


def test_an_existing_trail_is_never_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "trail-governed.jsonl").write_text("keep me\n")
    code = main(["--episodes", "5", "--arm", "governed", "--eval-repeats", "1", "--trail-dir", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert "trail-governed.jsonl" in err
    assert (tmp_path / "trail-governed.jsonl").read_text() == "keep me\n"


def test_one_arm_on_a_shared_host() -> None:
    with Host() as host:
        result = run_training(TrainConfig(episodes=10, seed=3, arms=("governed",), eval_repeats=1), host=host)
        assert list(result.arms) == ["governed"]
        assert not host.closed, "a host the caller gave is the caller's to close"
        # The reward config goes to the host, which checks it as the TypeScript side does.
        with pytest.raises(InvalidConfig, match="criticalPenalty"):
            run_training(TrainConfig(episodes=1, arms=("governed",), reward_config={"criticalPenalty": "high"}), host=host)
        softmax = run_training(TrainConfig(episodes=10, seed=3, arms=("governed",), eval_repeats=1, agent_kind="softmax"), host=host)
        assert softmax.to_json()["experiment"]["agent"] == {"kind": "softmax", "learning_rate": 0.2, "baseline_rate": 0.1, "temperature": 1.0}
        assert softmax.arms["governed"].training.executed_denied == 0
        assert softmax.arms["governed"].curve != result.arms["governed"].curve
        stronger = run_training(TrainConfig(episodes=10, seed=3, arms=("governed",), eval_repeats=1, reward_config=HARSH), host=host)
        assert stronger.to_json()["experiment"]["reward"] == HARSH
        assert stronger.arms["governed"].training.mean_reward < result.arms["governed"].training.mean_reward
    assert result.arms["governed"].training.episodes == 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"episodes": 0}, "TrainConfig.episodes: expected a positive integer, got 0"),
        ({"episodes": 2.5}, "TrainConfig.episodes: expected a positive integer, got 2.5"),
        ({"eval_window": True}, "TrainConfig.eval_window: expected a positive integer, got True"),
        ({"seed": -1}, "TrainConfig.seed: expected a non-negative integer, got -1"),
        ({"seed": "42"}, "TrainConfig.seed: expected a non-negative integer, got '42'"),
        ({"arms": ("governed", "__proto__")}, "TrainConfig.arms: expected a non-empty subset of"),
        ({"arms": ()}, "TrainConfig.arms: expected a non-empty subset of"),
        ({"agent_kind": "dqn"}, "TrainConfig.agent_kind: expected one of ['q-learning', 'softmax'], got 'dqn'"),
    ],
)
def test_bad_train_config_names_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainConfig(**kwargs)


def test_with_a_signing_key_the_trail_files_are_byte_identical(require_build: None, tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    made = subprocess.run(
        ["node", "-e", "const c=require('node:crypto');process.stdout.write(c.generateKeyPairSync('ed25519').privateKey.export({type:'pkcs8',format:'pem'}))"],
        capture_output=True, text=True, check=True,
    )
    key.write_text(made.stdout)
    with Host() as host:
        for name in ("a", "b"):
            run_training(TrainConfig(episodes=12, seed=5, arms=("governed",), eval_repeats=1, trail_dir=str(tmp_path / name), signing_key=str(key)), host=host)
    first, second = (tmp_path / name / "trail-governed.jsonl" for name in ("a", "b"))
    assert '"type":"checkpoint"' in first.read_text()
    assert first.read_bytes() == second.read_bytes()
