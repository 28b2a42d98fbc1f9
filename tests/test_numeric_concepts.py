"""Numeric concepts: the shipped configs, a short training run of each, and the form (not the
accuracies) of the Concept-Learner-style evaluation table and of the RESULTS.md section."""

import json
import re

import pytest

from agents.cli import load_yaml
from agents.config import config_from_dict
from agents.evaluate import main as evaluate_main
from agents.training_loop import Trainer
from benchmarks import numeric_table
from wmil_envs import vocab

SHORT = dict(max_steps=256, num_envs=64, hidden_dim=16, ff_dim=32, num_layers=1,
             update_epochs=1, num_minibatches=2, eval_every=0, eval_episodes=64,
             checkpoint_every=0, progress=False)  # fmt: skip


def short_run(tmp_path, task: str, **overrides):
    cfg = config_from_dict(
        {**SHORT, **overrides}, base=config_from_dict(load_yaml(f"configs/{task}.yaml"))
    )
    run_dir = tmp_path / f"{task}_s{cfg.seed}"
    summary = Trainer(cfg.validate(), run_dir).train()
    assert summary["finished"] and summary["steps"] == cfg.max_steps
    return run_dir


@pytest.mark.parametrize("task", ["numeric_relation", "counting"])
def test_shipped_configs_train_on_the_train_split_at_the_top_level(task):
    cfg = config_from_dict(load_yaml(f"configs/{task}.yaml")).validate()
    assert cfg.task_name == task and cfg.split == "train" and cfg.difficulty == 2
    assert cfg.relations is None  # all nine relations
    assert cfg.torch_threads == 1


def test_numeric_relation_table_has_the_concept_learner_form(tmp_path, capsys):
    run_dir = short_run(tmp_path, "numeric_relation")
    out_json = run_dir / "eval_test.json"
    args = ["--checkpoint", str(run_dir), "--split", "test", "--episodes", "400",
            "--difficulty", "2", "--json", str(out_json)]  # fmt: skip
    assert evaluate_main(args) == 0
    text = capsys.readouterr().out
    assert "Eval accuracy over 400 examples:" in text
    assert "Per-relation accuracy:" in text
    for name in vocab.RELATIONS:
        assert re.search(rf"^{name}\s+: \d+/\d+ = [01]\.\d{{3}}$", text, re.M), name
    for thr in ("0.4", "0.5", "0.6"):
        assert re.search(rf"^Acc@thr={thr}: [01]\.\d{{3}}$", text, re.M), thr
    for name in ("greater", "smaller"):
        assert re.search(rf"^{name} close \(\|a-b\|<=1\): \d+ ex, acc=", text, re.M)
        assert re.search(rf"^{name} far \(\|a-b\|>1\): \d+ ex, acc=", text, re.M)
    assert "Sample QA predictions:" in text
    assert re.search(r"^  gold=(yes|no) pred=\S+ p\(yes\)=[01]\.\d{3} rel=\w+$", text, re.M)
    assert "VQ codes" in text and re.search(r"^  parity\s+[01]\.\d{3}\s+[01]\.\d{3}$", text, re.M)

    result = json.loads(out_json.read_text())
    assert result["split"] == "test" and result["difficulty"] == 2
    assert list(result["per_category"]) == list(vocab.RELATIONS)
    assert sum(row["total"] for row in result["per_category"].values()) == 400
    numeric = result["numeric"]
    assert set(numeric["accuracy_at_threshold"]) == {"0.4", "0.5", "0.6"}
    assert set(numeric["close_far"]) == {"greater", "smaller"}
    assert all(0 <= s["p_yes"] <= 1 and s["gold"] in ("yes", "no") for s in numeric["samples"])
    vq = result["vq_codes"]
    assert set(vq["purity"]) == {"relation", "answer", "parity", "tens", "ones"}
    assert all(0 <= row["code"] < 32 for row in vq["number_codes"].values())


def test_counting_table_and_results_section(tmp_path, capsys):
    numeric_dir = short_run(tmp_path, "numeric_relation", max_steps=64, vq_head=False)
    counting_dir = short_run(tmp_path, "counting")
    for run_dir in (numeric_dir, counting_dir):
        for split in numeric_table.SPLITS:
            args = ["--checkpoint", str(run_dir), "--split", split, "--episodes", "200",
                    "--json", str(run_dir / f"eval_{split}.json")]  # fmt: skip
            assert evaluate_main(args) == 0
    text = capsys.readouterr().out
    assert re.search(r"^Counting eval accuracy: [01]\.\d{3}$", text, re.M)
    assert re.search(r"^Q: What number comes (after|before|between) \d+", text, re.M)
    assert re.search(r"^  gold=\d+ pred=\d+$", text, re.M)
    assert re.search(r"^crossing a ten \(tens digit changes\): \d+ ex, acc=", text, re.M)
    assert re.search(r"^within a ten: \d+ ex, acc=", text, re.M)
    (counting_dir / "timing.json").write_text('{"wall_seconds": 60.0, "cpu_seconds": 90.0}')

    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\n## Other section\n\nkeep me\n")
    section = numeric_table.write_report(tmp_path, results)
    written = results.read_text()
    assert "## Other section\n\nkeep me" in written and section in written
    assert section.startswith(numeric_table.SECTION)
    assert "| relation | Concept Learner | seed 0 |" in section
    for name in numeric_table.RELATION_ORDER:
        assert re.search(
            rf"^\| {name} \| [01]\.\d{{3}} \(\d+/\d+\) \| [01]\.\d{{3}}", section, re.M
        )
    assert "| **counting** | 1.000 | **" in section and "Acceptance on `test`" in section
    assert re.search(r"^\| counting: crossing a ten \| – \| [01]\.\d{3} \(\d+/\d+\)", section, re.M)
    assert "| counting | 0 | " in section and "1.0 min | 1.5 min" in section
    numeric_table.write_report(tmp_path, results)  # idempotent: the section is replaced
    assert results.read_text() == written


def test_concept_learner_reference_numbers_match_its_published_table():
    totals = numeric_table.CONCEPT_LEARNER["relations"]
    assert sum(t for _, t in totals.values()) == numeric_table.CONCEPT_LEARNER["examples"]
    for name, (correct, total) in totals.items():
        assert 0 <= correct <= total, name
