"""The locked MVP, end to end through the CLI, in a shortened form (2,000 steps)."""

import json

import pytest

from agents.train import main


def test_mvp_short_run_writes_all_four_criteria(tmp_path, capsys):
    run_dir = tmp_path / "mvp"
    code = main(["--config", "configs/mvp.yaml", "--max_steps", "2000", "--progress", "false",
                 "--run_dir", str(run_dir)])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "rolling success rate over the last 500 training episodes" in out
    summary = json.loads((run_dir / "summary.json").read_text())
    names = [c["name"] for c in summary["criteria"]]
    assert names == [
        "success rate > 12.5% (chance 1/8)",
        "success rate > 50% by step 5,000",
        "policy entropy falls over training",
        "world-model error falls over training",
    ]
    for criterion in summary["criteria"]:
        assert criterion["passed"] is True, criterion
        assert ("PASS" in out) and criterion["measured"] in out
    assert summary["all_criteria_passed"] is True
    evals = {e["milestone"]: e["greedy_success"] for e in summary["greedy_evals"]}
    assert sorted(evals) == [0, 500, 1000, 1500, 2000]
    assert evals[2000] > 0.9


@pytest.mark.slow
def test_full_mvp_reaches_the_goal_beyond_the_plan(tmp_path):
    """The full 10,000-step MVP: all criteria pass and greedy success >= 95% by step 2,000."""
    assert main(["--config", "configs/mvp.yaml", "--progress", "false",
                 "--run_dir", str(tmp_path / "mvp")]) == 0  # fmt: skip
    summary = json.loads((tmp_path / "mvp" / "summary.json").read_text())
    assert summary["all_criteria_passed"]
    evals = {e["milestone"]: e["greedy_success"] for e in summary["greedy_evals"]}
    assert evals[2000] >= 0.95
