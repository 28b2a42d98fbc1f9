"""Numeric concepts on held-out pairs: train, evaluate and tabulate against the Concept Learner.

    # train every seed of both configs (one process at a time), timing wall and CPU, then
    # evaluate each checkpoint on the test and test_numbers splits (JSON + text per run)
    python -m benchmarks.numeric_table run --seeds 0 1 2 --out runs/numeric
    # write the section "Numeric concepts on held-out pairs" of benchmarks/RESULTS.md
    python -m benchmarks.numeric_table report --out runs/numeric --results benchmarks/RESULTS.md

``run`` writes, per task and seed, ``OUT/<task>_s<seed>/`` (the run directory), ``timing.json``
(wall and CPU seconds of the training process) and ``eval_<split>.json`` / ``.txt`` (the output
of ``python -m agents.evaluate``). ``report`` reads only those files: every number of ours in
the section comes from them. The Concept Learner's numbers are quoted from its published
evaluation (``reference/concept-learner-results.txt``), which evaluates on its own question
distribution, not on our held-out pairs.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from wmil_envs.files import atomic_write_text, write_section

CONFIGS = {"numeric_relation": "configs/numeric_relation.yaml", "counting": "configs/counting.yaml"}
SPLITS = ("test", "test_numbers")
EPISODES = {"numeric_relation": 10_000, "counting": 2_000}
SECTION = "## Numeric concepts on held-out pairs"
BEGIN, END = "<!-- numeric concepts:begin -->", "<!-- numeric concepts:end -->"
"""The markers around the section this module writes into RESULTS.md."""
RELATION_ORDER = (
    "same_parity",
    "successor",
    "predecessor",
    "add_2",
    "same_tens",
    "same_ones",
    "makes_ten",
    "greater",
    "smaller",
)
"""The Concept Learner's order."""
ACCEPT = {"relation": 0.97, "overall": 0.98, "counting": 0.99}

# The Concept Learner's published evaluation (reference/concept-learner-results.txt).
CONCEPT_LEARNER: dict[str, Any] = {
    "relations": {
        "same_parity": (330, 690),
        "successor": (705, 727),
        "predecessor": (664, 674),
        "add_2": (420, 705),
        "same_tens": (378, 727),
        "same_ones": (350, 725),
        "makes_ten": (373, 729),
        "greater": (690, 716),
        "smaller": (685, 707),
    },
    "overall": 0.718,
    "examples": 6400,
    "thresholds": {"0.4": 0.707, "0.5": 0.718, "0.6": 0.725},
    "close_far": {
        "greater": {"close": (396, 0.977), "far": (320, 0.947)},
        "smaller": {"close": (361, 0.978), "far": (346, 0.960)},
    },
    "counting": 1.000,
}


# ----------------------------------------------------------------------------------- run


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train_and_evaluate(
    task: str, seed: int, out: Path, config: str, extra: list[str], episodes: int
) -> None:
    run_dir = out / f"{task}_s{seed}"
    cmd = [
        sys.executable,
        "-m",
        "agents.train",
        "--config",
        config,
        "--seed",
        str(seed),
        "--run_dir",
        str(run_dir),
        "--progress",
        "false",
        *extra,
    ]
    print("$", " ".join(cmd), flush=True)
    cpu0, wall0 = _child_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True)
    timing = {
        "command": " ".join(cmd[1:]),
        "wall_seconds": round(time.perf_counter() - wall0, 1),
        "cpu_seconds": round(_child_cpu() - cpu0, 1),
    }
    atomic_write_text(run_dir / "timing.json", json.dumps(timing, indent=2) + "\n")
    for split in SPLITS:
        cmd = [
            sys.executable,
            "-m",
            "agents.evaluate",
            "--checkpoint",
            str(run_dir),
            "--split",
            split,
            "--episodes",
            str(episodes),
            "--json",
            str(run_dir / f"eval_{split}.json"),
        ]
        print("$", " ".join(cmd), flush=True)
        text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        atomic_write_text(run_dir / f"eval_{split}.txt", text)


# ----------------------------------------------------------------------------------- report


def _load(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def collect(out: Path) -> dict[str, dict[int, dict[str, Any]]]:
    """task -> seed -> {"timing", "test", "test_numbers", "summary"} from the run directories."""
    runs: dict[str, dict[int, dict[str, Any]]] = {}
    for run_dir in sorted(out.glob("*_s*")):
        match = re.fullmatch(r"(numeric_relation|counting)_s(\d+)", run_dir.name)
        if not match or not run_dir.is_dir():
            continue
        entry = {split: _load(run_dir / f"eval_{split}.json") for split in SPLITS}
        entry["timing"] = _load(run_dir / "timing.json")
        entry["summary"] = _load(run_dir / "summary.json")
        runs.setdefault(match[1], {})[int(match[2])] = entry
    return runs


def _cell(acc: float | None, correct: int | None = None, total: int | None = None) -> str:
    if acc is None:
        return "–"
    return f"{acc:.3f}" + (f" ({correct}/{total})" if total is not None else "")


def _relation_rows(results: list[dict[str, Any] | None], reference: bool) -> list[list[str]]:
    rows = []
    for name in RELATION_ORDER:
        row = [name]
        if reference:
            c, t = CONCEPT_LEARNER["relations"][name]
            row.append(_cell(c / t, c, t))
        for r in results:
            cat = (r or {}).get("per_category", {}).get(name)
            row.append(_cell(cat["accuracy"], cat["correct"], cat["total"]) if cat else "–")
        rows.append(row)
    row = ["**overall**"]
    if reference:
        row.append(f"**{CONCEPT_LEARNER['overall']:.3f}** ({CONCEPT_LEARNER['examples']} ex)")
    for r in results:
        row.append(f"**{r['success_rate']:.3f}** ({r['episodes']} ex)" if r else "–")
    rows.append(row)
    for thr in ("0.4", "0.5", "0.6"):
        row = [f"acc at p(yes) > {thr}"]
        if reference:
            row.append(_cell(CONCEPT_LEARNER["thresholds"][thr]))
        for r in results:
            row.append(
                _cell(((r or {}).get("numeric") or {}).get("accuracy_at_threshold", {}).get(thr))
            )
        rows.append(row)
    for name in ("greater", "smaller"):
        for part, sign in (("close", "<="), ("far", ">")):
            row = [f"{name} {part} (\\|a-b\\| {sign} 1)"]
            if reference:
                n, acc = CONCEPT_LEARNER["close_far"][name][part]
                row.append(f"{acc:.3f} ({n} ex)")
            for r in results:
                cf = ((r or {}).get("numeric") or {}).get("close_far", {}).get(name, {}).get(part)
                row.append(f"{_cell(cf['accuracy'])} ({cf['examples']} ex)" if cf else "–")
            rows.append(row)
    return rows


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _passes(result: dict[str, Any] | None, counting: dict[str, Any] | None) -> bool:
    if not result or not counting:
        return False
    relations_ok = all(
        result["per_category"].get(name, {}).get("accuracy", 0) >= ACCEPT["relation"]
        for name in RELATION_ORDER
    )
    return (
        relations_ok
        and result["success_rate"] >= ACCEPT["overall"]
        and counting["success_rate"] >= ACCEPT["counting"]
    )


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f} min"


def render(runs: dict[str, dict[int, dict[str, Any]]]) -> str:
    numeric, counting = runs.get("numeric_relation", {}), runs.get("counting", {})
    seeds = sorted(set(numeric) | set(counting))
    lines = [
        SECTION,
        "",
        "Written by `python -m benchmarks.numeric_table report` from the evaluation JSONs of "
        "`python -m benchmarks.numeric_table run` (configs `configs/numeric_relation.yaml`, "
        "`configs/counting.yaml`); do not edit by hand.",
        "",
        "Ours: greedy policy, `WMIL/NumericRelation-v0` at difficulty 2 (half the no-questions "
        "are near misses) and `WMIL/Counting-v0` at difficulty 2 (after / before / between), "
        "trained on the `train` split and evaluated on `test` (ordered pairs never seen in "
        "training, made of numbers that were) and on `test_numbers` (questions that involve one "
        "of the ten numbers never seen in training). The Concept Learner's column is its "
        "published evaluation (6,400 questions of its own distribution, not our held-out pairs).",
        "",
    ]
    for split, title in (
        ("test", "held-out pairs (`--split test`)"),
        ("test_numbers", "held-out numbers (`--split test_numbers`)"),
    ):
        reference = split == "test"
        header = ["relation"] + (["Concept Learner"] if reference else [])
        header += [f"seed {s}" for s in seeds]
        results = [numeric.get(s, {}).get(split) for s in seeds]
        rows = _relation_rows(results, reference)
        row = ["**counting**"] + ([f"{CONCEPT_LEARNER['counting']:.3f}"] if reference else [])
        for s in seeds:
            c = counting.get(s, {}).get(split)
            row.append(f"**{c['success_rate']:.3f}** ({c['episodes']} ex)" if c else "–")
        rows.append(row)
        for kind in ("after", "before", "between"):
            row = [f"counting: {kind}"] + (["–"] if reference else [])
            for s in seeds:
                cat = ((counting.get(s, {}).get(split) or {}).get("per_category") or {}).get(kind)
                row.append(_cell(cat["accuracy"], cat["correct"], cat["total"]) if cat else "–")
            rows.append(row)
        for key, name in (("crossing_ten", "crossing a ten"), ("within_ten", "within a ten")):
            row = [f"counting: {name}"] + (["–"] if reference else [])
            for s in seeds:
                part = ((counting.get(s, {}).get(split) or {}).get("counting") or {}).get(key)
                row.append(_cell(part["accuracy"], part["correct"], part["total"]) if part else "–")
            rows.append(row)
        lines += [f"### NumericRelation and Counting on {title}", ""] + _table(header, rows) + [""]
        if reference:
            verdicts = [
                f"seed {s}: "
                + (
                    "PASS"
                    if _passes(numeric.get(s, {}).get("test"), counting.get(s, {}).get("test"))
                    else "FAIL"
                )
                for s in seeds
            ]
            lines += [
                f"Acceptance on `test` (every relation >= {ACCEPT['relation']}, overall >= "
                f"{ACCEPT['overall']}, counting >= {ACCEPT['counting']}): " + ", ".join(verdicts),
                "",
            ]
    header = [
        "run",
        "seed",
        "env steps",
        "wall",
        "CPU",
        "greedy success on `train` (trainer's last eval)",
    ]
    rows = []
    for task, by_seed in (("numeric_relation", numeric), ("counting", counting)):
        for s in seeds:
            entry = by_seed.get(s, {})
            timing, summary = entry.get("timing") or {}, entry.get("summary") or {}
            rows.append(
                [
                    task,
                    str(s),
                    f"{summary.get('steps', 0):,}",
                    _minutes(timing.get("wall_seconds")),
                    _minutes(timing.get("cpu_seconds")),
                    _cell(summary.get("final_greedy_success")),
                ]
            )
    lines += ["### Training cost (one process, `torch_threads: 1`, 2-core CPU shared)", ""]
    lines += _table(header, rows) + [""]
    vq_rows = []
    for task, by_seed in (("numeric_relation", numeric), ("counting", counting)):
        for s in seeds:
            vq = (by_seed.get(s, {}).get("test") or {}).get("vq_codes")
            if vq:
                p = vq["purity"]
                vq_rows.append(
                    [task, str(s), str(vq["codes_used"])]
                    + [
                        f"{p[k]['purity']:.2f} / {p[k]['chance']:.2f}"
                        for k in ("parity", "tens", "ones")
                    ]
                )
    if vq_rows:
        lines += ["### VQ code purity on `test` (purity / chance; attribute of `a` or `n`)", ""]
        lines += _table(["run", "seed", "codes used", "parity", "tens", "ones"], vq_rows) + [""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(out: Path, results_path: Path) -> str:
    """Write the section between :data:`BEGIN` and :data:`END` of ``results_path`` (appended
    when the file has no such section; other sections are kept) and return it."""
    section = render(collect(out))
    write_section(results_path, BEGIN, END, section, default="# Benchmark results\n")
    return section


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.numeric_table",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train and evaluate every seed of both configs")
    run.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    run.add_argument("--out", default="runs/numeric")
    run.add_argument("--tasks", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    run.add_argument("--episodes", type=int, help="evaluation episodes (default per task)")
    run.add_argument(
        "--train_flag",
        "--train-flag",
        action="append",
        default=[],
        metavar="FLAG",
        help="extra flag for agents.train, e.g. --train_flag=--max_steps=2048",
    )
    report = sub.add_parser("report", help="write the markdown section from the eval JSONs")
    report.add_argument("--out", default="runs/numeric")
    report.add_argument("--results", default="benchmarks/RESULTS.md")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Path(args.out)
    if args.command == "run":
        out.mkdir(parents=True, exist_ok=True)
        for task in args.tasks:
            for seed in args.seeds:
                train_and_evaluate(
                    task, seed, out, CONFIGS[task], args.train_flag, args.episodes or EPISODES[task]
                )
        return 0
    print(write_report(out, Path(args.results)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
