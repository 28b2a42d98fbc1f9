"""The benchmark tools: the smoke suite runs, resumes, reports, and gives the same numbers on
the process pool, in-process and on Ray (timing columns aside)."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import re

import pytest

from agents.config import Config
from benchmarks import merge as merge_mod
from benchmarks import report as report_mod
from benchmarks.cell import TIMING_COLUMNS, eval_targets, final_scores, steps_to
from benchmarks.results_csv import read_rows, write_rows
from benchmarks.run import run_suite
from benchmarks.stats import mean_ci, normalised, t975
from benchmarks.suite import SuiteError, cells, load_suite
from wmil_envs import vocab
from wmil_envs.files import write_section

SMOKE = load_suite("smoke")
AGENTS = list(SMOKE.agents)
TASKS = [e["task"] for e in SMOKE.envs]


def _numbers(row: dict) -> dict:
    """A row without its timing columns (what must match across backends)."""
    return {k: v for k, v in row.items() if k not in TIMING_COLUMNS}


@pytest.fixture(scope="module")
def smoke_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_smoke")
    run_suite("smoke", out, backend="process", workers=2, progress=False)
    return out


# ------------------------------------------------------------------------------ unit checks


def test_t_interval_matches_textbook_values():
    assert t975(1) == pytest.approx(12.706)
    assert t975(4) == pytest.approx(2.776)
    mean, lo, hi, n = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (mean, n) == (3.0, 5)
    half = 2.776 * math.sqrt(2.5) / math.sqrt(5)
    assert lo == pytest.approx(3 - half) and hi == pytest.approx(3 + half)
    assert math.isnan(mean_ci([0.5])[1])
    assert mean_ci([0.2, float("nan"), 0.4])[3] == 2


def test_normalised_score_is_bsuite_style_and_clipped():
    assert normalised(0.125, 0.125) == 0.0
    assert normalised(1.0, 0.125) == 1.0
    assert normalised(0.5625, 0.125) == pytest.approx(0.5)
    assert normalised(0.0, 0.5) == 0.0  # below random clips to 0


def test_log_spaced_targets_and_steps_to_threshold():
    targets = eval_targets(100, 10_000, 3)
    assert targets == [0, 100, 1000, 10_000]
    assert steps_to([0, 100, 1000], [0.1, 0.6, 0.95], 0.5) == 100
    assert steps_to([0, 100, 1000], [0.1, 0.6, 0.95], 0.99) is None


def test_suite_errors_name_the_bad_key(tmp_path):
    bad = tmp_path / "suite_bad.yaml"
    bad.write_text("name: bad\nseeds: [0]\nenvs: []\nagents: {a: {kind: magic}}\n")
    with pytest.raises(SuiteError, match="kind='magic'"):
        load_suite(str(bad))
    bad.write_text(
        "name: bad\nseeds: [0]\nenvs: [{task: nope, max_steps: 10}]\nagents: {a: {kind: trainer}}\n"
    )
    with pytest.raises(SuiteError, match="nope"):
        load_suite(str(bad))


def test_entries_of_one_task_and_level_need_names_of_their_own(tmp_path):
    suite = tmp_path / "suite_two.yaml"
    entry = "{task: pattern_echo, levels: [1], max_steps: 64, "
    entry += "config: {episode_length: %d, rollout_steps: 2}%s}"
    text = "name: two\nseeds: [0]\nagents: {a: {kind: trainer, config: {algorithm: random}}}\n"
    suite.write_text(text + f"envs: [{entry % (1, '')}, {entry % (2, '')}]\n")
    with pytest.raises(SuiteError, match="pattern_echo/L1/a/s0.*different names"):
        load_suite(str(suite))
    suite.write_text(text + f"envs: [{entry % (1, '')}, {entry % (2, ', name: echo_twice')}]\n")
    grid = cells(load_suite(str(suite)))
    assert [c["cell_id"] for c in grid] == ["pattern_echo/L1/a/s0", "echo_twice/L1/a/s0"]
    assert grid[1]["config"]["task"] == "pattern_echo" and grid[1]["config"]["episode_length"] == 2


def test_an_envs_steps_fraction_and_log_points_override_the_suites_there_only(tmp_path):
    suite = tmp_path / "suite_budget.yaml"
    text = "name: budget\nseeds: [0]\n"
    text += "agents: {a: {kind: trainer, steps_fraction: 0.5, config: {algorithm: random}},\n"
    text += "         b: {kind: trainer, config: {algorithm: random}}}\n"
    entry = "{task: pattern_echo, levels: [1], max_steps: 1000, config: {rollout_steps: 2}%s}"
    second = entry % ", name: e2, steps_fraction: {a: 0.1}, log_points: 3"
    suite.write_text(text + f"envs: [{entry % ''}, {second}]\n")
    grid = cells(load_suite(str(suite)))
    budget = {c["cell_id"]: c["max_steps"] for c in grid}
    assert budget == {
        "pattern_echo/L1/a/s0": 500, "pattern_echo/L1/b/s0": 1000,
        "e2/L1/a/s0": 100, "e2/L1/b/s0": 1000,
    }  # fmt: skip
    assert [c["log_points"] for c in grid] == [10, 10, 3, 3]
    for bad, message in (
        ("steps_fraction: {c: 0.1}", "steps_fraction must map"),
        ("steps_fraction: {a: 2}", "of 'a'=2"),
        ("log_points: 0", "log_points=0"),
    ):
        suite.write_text(text + f"envs: [{entry % (', ' + bad)}]\n")
        with pytest.raises(SuiteError, match=message):
            load_suite(str(suite))


def test_default_suite_covers_every_env_level_and_agent_with_five_seeds():
    import wmil_envs

    suite = load_suite("default")
    grid = cells(suite)
    assert suite.seeds == [0, 1, 2, 3, 4]
    assert {c["config"]["task"] for c in grid} == {
        "pattern_echo",
        "sequence_next",
        "conditional",
        "numeric_relation",
        "counting",
    }
    levels = {(c["task"], c["difficulty"]) for c in grid}
    assert len(levels) == sum(
        len(wmil_envs.make_task(t).levels)
        for t in ("pattern_echo", "sequence_next", "conditional", "numeric_relation", "counting")
    )
    kinds = {a["kind"] for a in suite.agents.values()}
    assert kinds == {"trainer", "distill", "sb3"}


def test_markers_keep_other_sections(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# Results\n\n## Numeric concepts on held-out pairs\n\nkeep me\n")
    write_section(path, report_mod.BEGIN, report_mod.END, "## Bench\nfirst")
    write_section(path, report_mod.BEGIN, report_mod.END, "## Bench\nsecond")
    text = path.read_text()
    assert "keep me" in text and "second" in text and "first" not in text
    assert text.count(report_mod.BEGIN) == 1 and text.count(report_mod.END) == 1


# ------------------------------------------------------------------------------ the smoke suite


def test_smoke_rows_cover_the_grid(smoke_dir):
    rows = read_rows(smoke_dir)
    assert len(rows) == len(cells(SMOKE))
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows if r["error"]]
    assert {r["agent"] for r in rows} == set(AGENTS)
    assert {r["task"] for r in rows} == set(TASKS)
    for r in rows:
        steps = json.loads(r["curve_steps"])
        assert steps[0] == 0 and steps[-1] == int(r["steps"]) and steps == sorted(steps)
        assert len(json.loads(r["curve_greedy_success"])) == len(steps)
        assert 0.0 <= float(r["final_greedy_success"]) <= 1.0
        assert float(r["env_steps_per_second"]) > 0
        if r["kind"] != "sb3":
            probes = json.loads(r["probes"])
            assert probes["hidden"] and set(probes["hidden"]) == set(probes["majority"])
    vq = [r for r in rows if r["agent"] == "ppo_wm_vq"]
    assert all(r["vq_codes_used"] and json.loads(r["probes"])["vq"] for r in vq)


def test_resume_skips_finished_runs_and_reruns_the_same_numbers(smoke_dir, tmp_path):
    rows = read_rows(smoke_dir)
    out = tmp_path / "resumed"
    out.mkdir()
    dropped = [r for r in rows if r["seed"] == "1" and r["agent"] in ("ppo_wm", "distill")]
    kept = [r for r in rows if r not in dropped]
    write_rows(out / "results.csv", kept)
    with pytest.raises(SystemExit, match="--resume"):
        run_suite("smoke", out, workers=1, progress=False)
    run_suite("smoke", out, workers=1, resume=True, progress=False)  # in-process this time
    again = {r["cell_id"]: r for r in read_rows(out)}
    assert len(again) == len(rows)
    for r in dropped:  # re-run in this process: the same numbers as in the pool
        assert _numbers(again[r["cell_id"]]) == _numbers(r)
    for r in kept:  # untouched (not re-run: the timing columns are the old ones too)
        assert again[r["cell_id"]] == r


def test_a_filtered_resume_keeps_the_rows_outside_its_filter(smoke_dir, tmp_path):
    rows = read_rows(smoke_dir)
    out = tmp_path / "filtered"
    out.mkdir()
    write_rows(out / "results.csv", rows)
    run_suite("smoke", out, workers=1, resume=True, progress=False, only={"task": [TASKS[1]]})
    assert {r["cell_id"]: r for r in read_rows(out)} == {r["cell_id"]: r for r in rows}


def test_report_structure(smoke_dir):
    assert report_mod.main([str(smoke_dir)]) == 0
    text = (smoke_dir / "report.md").read_text()
    for name in [*AGENTS, *TASKS]:
        assert name in text
    headline = text.split("## Headline")[1].split("##")[0]
    table = [line for line in headline.splitlines() if line.startswith("| ")][1:]
    assert {line.split("|")[1].strip() for line in table} == set(AGENTS)
    assert re.search(r"\d\.\d\d \[-?\d\.\d\d, -?\d\.\d\d\]", headline), "no intervals"
    assert "Student-t" in text and "(x − random) / (1 − random)" in text
    assert "steps to 50 %" in text and "linear probes" in text.lower()
    assert "reinforce_wm − rl_only" in text
    plots = sorted(p.name for p in (smoke_dir / "plots").glob("*.png"))
    assert plots == sorted(["summary.png", *(f"curves_{t}.png" for t in TASKS)])
    for p in (smoke_dir / "plots").glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"plots/{p.name}" in text


def test_merge_puts_pieces_of_a_sweep_together_and_the_report_names_each_run(smoke_dir, tmp_path):
    """A later directory's row replaces an earlier one; failed rows and rows whose settings
    are not the suite's any more are dropped and named; the report lists every command."""
    rows = read_rows(smoke_dir)
    first, second = tmp_path / "first", tmp_path / "second"
    stale, failed, rerun = rows[0]["cell_id"], rows[1]["cell_id"], rows[2]["cell_id"]
    early = [
        {**r, "cell_hash": "0" * 12} if r["cell_id"] == stale else
        {**r, "status": "error"} if r["cell_id"] == failed else r
        for r in rows
    ]  # fmt: skip
    late = [{**rows[2], "final_greedy_success": "0.123"}]
    for d, part, command in ((first, early, "python -m benchmarks.run A"),
                             (second, late, "python -m benchmarks.run B")):  # fmt: skip
        d.mkdir()
        write_rows(d / "results.csv", part)
        (d / "suite.json").write_text(json.dumps({"suite": "smoke", "command": command}))
    merge_mod.main([str(tmp_path / "all"), str(first), str(second)])
    merged = {r["cell_id"]: r for r in read_rows(tmp_path / "all")}
    assert set(merged) == {r["cell_id"] for r in rows} - {stale, failed}
    assert merged[rerun]["final_greedy_success"] == "0.123"
    result = merge_mod.merge(tmp_path / "again", [first, second])
    assert (result["stale"], result["failed"], result["replaced"]) == ([stale], [failed], [rerun])
    report_mod.main([str(tmp_path / "all")])
    text = (tmp_path / "all" / "report.md").read_text()
    assert "put together by `python -m benchmarks.merge`" in text
    assert "- `python -m benchmarks.run A`" in text and "- `python -m benchmarks.run B`" in text
    other = tmp_path / "other"
    other.mkdir()
    write_rows(other / "results.csv", [{**rows[0], "suite": "worlds_smoke"}])
    with pytest.raises(SystemExit, match="several suites"):
        merge_mod.merge(tmp_path / "mixed", [first, other])


def test_report_finds_the_suite_by_name_when_its_recorded_file_is_gone(smoke_dir, tmp_path):
    out = tmp_path / "moved"
    out.mkdir()
    write_rows(out / "results.csv", read_rows(smoke_dir))
    meta = {"suite": "smoke", "suite_file": str(tmp_path / "gone" / "suite_smoke.yaml")}
    (out / "suite.json").write_text(json.dumps(meta))
    report_mod.main([str(out)])
    text = (out / "report.md").read_text()
    assert "Suite file `suite_smoke.yaml`" in text and "| agent | kind | what it is |" in text


def test_report_into_results_md_keeps_other_sections(smoke_dir, tmp_path):
    target = tmp_path / "RESULTS.md"
    target.write_text("## Numeric concepts on held-out pairs\n\nby another script\n")
    throughput = tmp_path / "tp.json"
    args = {
        "env": "WMIL/PatternEcho-v0",
        "num_envs": 64,
        "rollout_steps": 16,
        "steps": 1024,
        "update_epochs": 4,
        "num_minibatches": 4,
    }
    rows = [
        {"agent": name, "parameters": 1000, "steps_per_second": sps}
        for name, sps in (("ours", 300.0), ("sb3", 1200.0), ("ours wm", 240.0))
    ]
    rows[0].update(flops_per_step=2e6, share_of_limit=0.3, matmuls_alone_share=0.6)
    machine = {"cpu": "Example CPU", "cpu_capability": "AVX2"}
    throughput.write_text(
        json.dumps({"args": args, "rows": rows, "ratio": 0.25, "ratio_world_model": 0.2, **machine})
    )
    report_mod.main(
        [str(smoke_dir), "--results_md", str(target), "--train_throughput", str(throughput)]
    )
    text = target.read_text()
    begin, end = report_mod.section_markers("smoke")
    assert "by another script" in text and begin in text and end in text
    assert "Ratio ours / SB3: **0.25x**" in text
    assert "CPU seconds of the process (Example CPU, torch's AVX2 kernels)." in text
    assert "| ours | 1,000 | 300 | 2.00 | 30.0% | 60.0% |" in text
    assert "| sb3 | 1,000 | 1,200 | – | – | – |" in text
    assert (tmp_path / "plots" / "smoke" / "summary.png").exists()
    assert "](plots/smoke/summary.png)" in text


def test_published_results_take_new_runs_through_merge(smoke_dir, tmp_path):
    """``--results_md`` publishes results/SUITE.csv with its commands in SUITE.json; merge
    reads that pair as one piece, so new runs are added to published ones with their history."""
    target = tmp_path / "RESULTS.md"
    report_mod.main([str(smoke_dir), "--results_md", str(target)])
    published = tmp_path / "results" / "smoke.csv"
    history = json.loads((tmp_path / "results" / "smoke.json").read_text())
    recorded = json.loads((smoke_dir / "suite.json").read_text())
    assert history == {**recorded, "suite_file": "configs/suite_smoke.yaml"}
    rows = read_rows(published)
    rerun = rows[0]["cell_id"]
    more = tmp_path / "more"
    more.mkdir()
    write_rows(more / "results.csv", [{**rows[0], "final_greedy_success": "0.321"}])
    (more / "suite.json").write_text(json.dumps({"suite": "smoke", "command": "run C"}))
    result = merge_mod.merge(tmp_path / "all", [published, more])
    assert result["replaced"] == [rerun] and len(result["rows"]) == len(rows)
    merged = {r["cell_id"]: r for r in read_rows(tmp_path / "all")}
    assert merged[rerun]["final_greedy_success"] == "0.321"
    commands = json.loads((tmp_path / "all" / "suite.json").read_text())["commands"]
    assert commands == [history["command"], "run C"]
    assert "benchmarks.merge DIR benchmarks/results/smoke.csv" in target.read_text()
    with pytest.raises(SystemExit, match="expected .*missing.csv"):
        merge_mod.merge(tmp_path / "none", [tmp_path / "missing.csv"])


@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install 'wmil[ray]')"
)
def test_ray_backend_gives_the_same_rows(smoke_dir, tmp_path):
    out = tmp_path / "ray"
    run_suite("smoke", out, backend="ray", workers=2, progress=False)
    pool = {r["cell_id"]: _numbers(r) for r in read_rows(smoke_dir)}
    ray_rows = {r["cell_id"]: _numbers(r) for r in read_rows(out)}
    assert ray_rows == pool
    with open(out / "results.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(pool)


# ------------------------------------------------------------------------------ the worlds suite


def test_worlds_suite_covers_every_world_level_and_agent_and_gives_ppo_ten_times_the_steps():
    suite = load_suite("worlds")
    grid = cells(suite)
    assert suite.seeds == [0, 1, 2, 3, 4]
    levels = {(c["task"], c["difficulty"]) for c in grid}
    assert {(t, lv) for t in ("number_walk", "object_edit") for lv in range(4)} <= levels
    worlds = [c for c in grid if c["task"] in ("number_walk", "object_edit")]
    assert {c["agent"] for c in worlds} == set(suite.agents)
    tries = [c for c in grid if c["task"] in ("conditional_tries", "sequence_next_tries")]
    assert tries and all(c["config"]["episode_length"] == 4 for c in tries)
    one_try = [c for c in grid if c["task"] in ("conditional", "sequence_next")]
    assert one_try and all(c["config"].get("episode_length") in (None, 1) for c in one_try)
    questions = {c["agent"] for c in tries + one_try}
    assert {"ppo", "replay_q", "planner"} <= questions  # the reward head against the model
    assert "planner_rules" not in questions  # the rules need a world
    budget = {(c["task"], c["difficulty"], c["agent"]): c["max_steps"] for c in grid}
    for (task, level, agent), steps in budget.items():
        if agent == "planner":
            assert budget[(task, level, "ppo")] >= 10 * steps


def test_the_steps_ratio_table_pairs_seeds_and_marks_censored_and_untrained_cases():
    def row(agent, seed, to_90, steps=1000):
        return {"task": "number_walk", "difficulty": "0", "agent": agent, "seed": str(seed),
                "status": "ok", "steps_to_90": to_90, "steps": str(steps),
                "final_greedy_success": "1.0"}  # fmt: skip

    rows = [
        row("planner", 0, "100"), row("planner", 1, ""), row("planner", 2, "200"),
        row("ppo", 0, "1000"), row("ppo", 1, "500"), row("ppo", 2, "", steps=4000),
        row("planner_rules", 0, "50"), row("planner_rules", 1, ""), row("planner_rules", 2, "0"),
    ]  # fmt: skip
    text = "\n".join(report_mod.steps_ratio_table(report_mod.Results(rows)))
    assert "| env | level | ppo / planner | planner / planner_rules |" in text
    # ppo: 10x on seed 0, no ratio where the planner never got there, its budget on seed 2
    # the planner against the rules: 2x, none where the rules never got there, and no finite
    # ratio where they were at 90 % before training
    assert "| number_walk | 0 | 10.0, n/r, ≥20.0 | 2.0, n/r, ∞ |" in text


class _Echo:
    """PatternEcho's answer read off the newest observation (its pattern token), shifted by
    ``wrong`` (0: always right; 1: always the same wrong answer)."""

    def __init__(self, wrong: int):
        self.wrong = wrong

    def act(self, obs, greedy=True):
        return (obs[:, -3] - vocab.SYMBOL + self.wrong) % 4


def test_the_tries_columns_where_no_first_try_fails_and_where_every_one_does():
    """The repeat rate is a share of the later tries: none to count when every first try is
    right (an empty cell, not an error), 1.0 for an agent that repeats its wrong answer."""
    cfg = Config(task="pattern_echo", num_actions=4, episode_length=3, episode_memory=2)
    right = final_scores(cfg, _Echo(0), None, episodes=64)
    assert right == {"final_first_try_success": 1.0, "final_repeat_rate": None}
    stubborn = final_scores(cfg, _Echo(1), None, episodes=64)
    assert stubborn == {"final_first_try_success": 0.0, "final_repeat_rate": 1.0}


@pytest.fixture(scope="module")
def worlds_smoke_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_worlds_smoke")
    run_suite("worlds_smoke", out, backend="process", workers=2, progress=False)
    return out


def test_worlds_smoke_rows_and_report(worlds_smoke_dir):
    rows = read_rows(worlds_smoke_dir)
    suite = load_suite("worlds_smoke")
    assert len(rows) == len(cells(suite))
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows if r["error"]]
    for r in rows:
        world = r["task"] == "number_walk"
        assert (r["final_test_success"] != "") == world  # held-out goals: worlds only
        if world:
            assert 0.0 <= float(r["final_test_success"]) <= 1.0
            efficiency = float(r["path_efficiency"])
            assert math.isnan(efficiency) or 0.0 < efficiency <= 1.0
        # the imagined-rollout exactness: agents with a learned simulator on a world only
        assert (r["simulator_rollout_exact"] != "") == (world and r["agent"] == "planner")
        # first-try success: the question with four tries only, never above success in 4 tries
        assert (r["final_first_try_success"] != "") == (not world)
        if not world:
            assert 0.0 <= float(r["final_first_try_success"]) <= float(r["final_greedy_success"])
            # repeats of a failed answer: a share of the later tries, there when a try failed
            failed_first = float(r["final_first_try_success"]) < 1.0
            assert (r["final_repeat_rate"] != "") == failed_first
            if failed_first:
                assert 0.0 <= float(r["final_repeat_rate"]) <= 1.0
        else:
            assert r["final_repeat_rate"] == ""
    assert report_mod.main([str(worlds_smoke_dir)]) == 0
    text = (worlds_smoke_dir / "report.md").read_text()
    assert "held-out test success | path efficiency | 5-step imagined exact | CPU s" in text
    assert "| first-try success | later tries repeating a failed answer | CPU s |" in text
    assert "Model-based against model-free and the rules: env steps to 90 %" in text
    assert "| number_walk | 0 |" in text and "planner − replay_q" in text
    # a second suite's report goes into its own section of the same results file
    target = worlds_smoke_dir / "RESULTS.md"
    target.write_text("<!-- benchmarks:begin -->\nthe default suite\n<!-- benchmarks:end -->\n")
    report_mod.main([str(worlds_smoke_dir), "--results_md", str(target)])
    text = target.read_text()
    assert "the default suite" in text and "<!-- benchmarks worlds_smoke:begin -->" in text
    assert (worlds_smoke_dir / "plots" / "worlds_smoke" / "summary.png").exists()
