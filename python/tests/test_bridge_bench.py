"""The Python bridge bench (bench/python/bridge_bench.py) in its --quick form: every row measured,
the results merged into an existing results file, and batching paying off at N = 64."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "python" / "bridge_bench.py"
IDS = [
    "py_host_roundtrip",
    "py_env_step",
    "py_sync_vector_8",
    "py_vector_8",
    "py_sync_vector_64",
    "py_vector_64",
    "py_sync_vector_64_light",
    "py_vector_64_light",
    "py_kernel_evaluate",
    "py_kernel_evaluate_batch",
]


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bridge_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bridge_bench"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_run(require_build: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path]:
    bench = load_bench()
    out = tmp_path_factory.mktemp("bench") / "results.json"
    # The node bench's results are already there: the Python rows are added, not written over them.
    out.write_text(json.dumps({"rows": [{"id": "kernel_full"}], "table": "| node |"}))
    assert bench.main(["--quick", "--out", str(out)]) == 0
    return json.loads(out.read_text()), out


def test_every_row_is_measured(quick_run: tuple[dict[str, object], Path]) -> None:
    results, _ = quick_run
    section = results["python"]
    assert isinstance(section, dict) and section["quick"] is True
    rows = section["rows"]
    assert [row["id"] for row in rows] == IDS
    for row in rows:
        assert row["us_per_unit"] > 0 and row["units"] > 0 and row["samples"] >= 3
        assert row["min_us"] <= row["us_per_unit"] <= row["max_us"]
        assert row["name"] in section["table"]


def test_node_results_are_kept(quick_run: tuple[dict[str, object], Path]) -> None:
    results, _ = quick_run
    assert results["rows"] == [{"id": "kernel_full"}] and results["table"] == "| node |"


def test_batched_vector_env_is_faster_per_env_step(quick_run: tuple[dict[str, object], Path]) -> None:
    results, _ = quick_run
    rows = {row["id"]: row for row in results["python"]["rows"]}  # type: ignore[index]

    def best_ratio(slow: str, fast: str) -> float:
        # Ratios of the fastest samples, measured in the same run: on a machine shared with other
        # work (load 15 on 2 cores turned a mean ratio of 1.9 into 0.87) the best sample of each
        # path is the one least disturbed, so it compares the paths rather than the neighbours.
        return float(rows[slow]["min_us"]) / float(rows[fast]["min_us"])

    # One message for 64 env-steps beats 64 messages. On light steps the bridge is most of the cost,
    # so the margin is wide; on the SQL world's real steps the env's own work dominates both paths
    # (see docs/performance.md), so only sanity.
    assert best_ratio("py_sync_vector_64_light", "py_vector_64_light") > 1.2
    assert best_ratio("py_sync_vector_64", "py_vector_64") > 0.5
    assert best_ratio("py_kernel_evaluate", "py_kernel_evaluate_batch") > 1.0


@pytest.mark.parametrize(
    "content,message",
    [("[1, 2]", "does not hold a JSON object"), ('{"rows": [', "is not JSON"), ("", "is not JSON"), ("\ufeff{}", "is not JSON")],
)
def test_a_results_file_that_is_not_an_object_is_left_alone(tmp_path: Path, content: str, message: str) -> None:
    bench = load_bench()
    out = tmp_path / "results.json"
    out.write_text(content, encoding="utf-8")
    with pytest.raises(SystemExit, match=message):
        bench.merge_into(out, {"rows": []})
    assert out.read_text(encoding="utf-8") == content
