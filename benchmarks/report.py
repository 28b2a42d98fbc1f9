"""``python -m benchmarks.report RESULTS_DIR``: tables, intervals and plots from a sweep.

    python -m benchmarks.report runs/bench_smoke
    python -m benchmarks.report runs/bench_default --results_md benchmarks/RESULTS.md

Writes ``RESULTS_DIR/report.md`` and PNG plots under ``RESULTS_DIR/plots/``: per env and agent,
the mean over seeds with a two-sided 95 % Student-t interval (``benchmarks.stats``), the score
normalised to [0, 1] against the random agent (bsuite: (x - random) / (1 - random), clipped;
random = the random agent's mean final greedy success at that env and level), steps to 50 / 90
/ 95 % greedy success, throughput, learning curves with seed bands, a summary chart across envs,
the world-model-vs-RL-only comparison (paired by seed) and the representation analysis (linear
probes from the hidden state and the VQ codes; codebook usage).

``--results_md PATH`` also writes the same report into PATH between the markers
``<!-- benchmarks:begin -->`` and ``<!-- benchmarks:end -->`` (appended if PATH has none),
keeping everything outside them (other sections of the file), and copies the plots next to it
(``PATH's dir/plots/``).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.cell import TRIES_COLUMNS
from benchmarks.results_csv import read_rows
from benchmarks.stats import mean_ci, normalised
from wmil_envs.files import atomic_write_text, write_section
from wmil_envs.tasks import TASKS

BEGIN, END = "<!-- benchmarks:begin -->", "<!-- benchmarks:end -->"
"""The markers of the ``default`` suite's section of a results file."""


def section_markers(suite: str) -> tuple[str, str]:
    """Each suite has its own section of a results file (``default``: ``BEGIN``/``END``)."""
    if suite == "default":
        return BEGIN, END
    return f"<!-- benchmarks {suite}:begin -->", f"<!-- benchmarks {suite}:end -->"


THRESHOLDS = (50, 90, 95)
PAIRS = (
    ("reinforce_wm", "rl_only"),
    ("ppo_wm", "ppo_rl_only"),
    ("ppo_wm_vq", "ppo_rl_only"),
    ("ppo_wm_vq", "ppo_wm"),
    # the worlds suite: the used world model against model-free, replay alone, the true rules
    ("ppo_wm", "ppo"),
    ("planner", "ppo"),
    ("planner", "ppo_matched"),
    ("planner", "replay_q"),
    ("planner_rules", "planner"),
)
MODEL_BASED, MODEL_FREE = "planner", ("ppo", "ppo_matched", "ppo_wm", "replay_q")
"""The worlds suite's steps-to-90 % comparison: the planner against each model-free agent."""
UPPER_BOUND = "planner_rules"  # the same planner imagining with the true rules: what it costs
ENV_ORDER = tuple(TASKS)  # the task registry's order


def _f(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _fmt(mean: float, lo: float, hi: float, digits: int = 2, bounds=(0.0, 1.0)) -> str:
    """``mean [lo, hi]``, the interval clipped to the metric's range ``bounds``."""
    if math.isnan(mean):
        return "–"
    if math.isnan(lo):
        return f"{mean:.{digits}f}"
    lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _ci(values, bounds=(0.0, 1.0)) -> str:
    return _fmt(*mean_ci(values)[:3], bounds=bounds)


class Results:
    """The rows of a sweep, indexed by (task, level, agent) -> {seed: row}."""

    def __init__(self, rows: list[dict[str, str]]):
        self.all_rows = rows
        self.rows = [r for r in rows if r.get("status") == "ok"]
        self.errors = [r for r in rows if r.get("status") != "ok"]
        self.cells: dict[tuple[str, int, str], dict[int, dict]] = defaultdict(dict)
        for r in self.rows:
            self.cells[(r["task"], int(r["difficulty"]), r["agent"])][int(r["seed"])] = r
        tasks = {r["task"] for r in self.rows}
        self.tasks = [t for t in ENV_ORDER if t in tasks] + sorted(tasks - set(ENV_ORDER))
        self.agents = list(dict.fromkeys(r["agent"] for r in self.rows))
        self.levels = {
            t: sorted({int(r["difficulty"]) for r in self.rows if r["task"] == t})
            for t in self.tasks
        }
        self.seeds = sorted({int(r["seed"]) for r in self.rows})
        self.random = {}
        for t in self.tasks:
            for lv in self.levels[t]:
                runs = self.cells.get((t, lv, "random"), {})
                vals = [_f(r["final_greedy_success"]) for r in runs.values()]
                self.random[(t, lv)] = float(np.mean(vals)) if vals else math.nan

    def final(self, task, level, agent) -> dict[int, float]:
        return {
            s: _f(r["final_greedy_success"])
            for s, r in self.cells.get((task, level, agent), {}).items()
        }

    def score(self, task, level, agent) -> dict[int, float]:
        base = self.random[(task, level)]
        return {s: normalised(x, base) for s, x in self.final(task, level, agent).items()}

    def env_score(self, task, agent) -> dict[int, float]:
        """Per seed: the normalised score averaged over the env's levels (seeds with every
        level only)."""
        per_level = [self.score(task, lv, agent) for lv in self.levels[task]]
        seeds = set.intersection(*(set(p) for p in per_level)) if per_level else set()
        return {s: float(np.mean([p[s] for p in per_level])) for s in sorted(seeds)}

    def overall_score(self, agent) -> dict[int, float]:
        per_env = [self.env_score(t, agent) for t in self.tasks]
        seeds = set.intersection(*(set(p) for p in per_env)) if per_env else set()
        return {s: float(np.mean([p[s] for p in per_env])) for s in sorted(seeds)}


# ------------------------------------------------------------------------------------ plots


def _curves(runs: dict[int, dict], column: str = "curve_greedy_success"):
    """(steps, array seeds x points) over the steps every seed logged."""
    curves = {
        s: dict(zip(json.loads(r["curve_steps"]), json.loads(r[column]), strict=True))
        for s, r in runs.items()
    }
    common = sorted(set.intersection(*(set(c) for c in curves.values())))
    data = np.array([[np.nan if c[x] is None else c[x] for x in common] for c in curves.values()])
    return np.array(common), data


def _matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise SystemExit(
            "error: the report's plots need matplotlib: pip install 'wmil[bench]'"
        ) from None
    return matplotlib


def plot_learning_curves(res: Results, out: Path) -> list[Path]:
    matplotlib = _matplotlib()

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    colours = {a: plt.cm.tab10(i % 10) for i, a in enumerate(res.agents)}
    for task in res.tasks:
        levels = res.levels[task]
        fig, axes = plt.subplots(
            1, len(levels), figsize=(3.6 * len(levels), 3.2), squeeze=False, sharey=True
        )
        for ax, lv in zip(axes[0], levels, strict=True):
            for agent in res.agents:
                runs = res.cells.get((task, lv, agent))
                if not runs:
                    continue
                steps, data = _curves(runs)
                x = np.where(
                    steps > 0, steps, steps[steps > 0].min() / 2 if (steps > 0).any() else 1
                )
                mean = np.nanmean(data, 0)
                stats = [mean_ci(col) for col in data.T]
                lo = np.array([s[1] if not math.isnan(s[1]) else s[0] for s in stats])
                hi = np.array([s[2] if not math.isnan(s[2]) else s[0] for s in stats])
                ax.plot(x, mean, label=agent, color=colours[agent], lw=1.5)
                ax.fill_between(
                    x, np.clip(lo, 0, 1), np.clip(hi, 0, 1), color=colours[agent], alpha=0.15, lw=0
                )
            ax.set_xscale("log")
            ax.set_title(f"{task} level {lv}", fontsize=9)
            ax.set_xlabel("env steps (log; step 0 at half the first)")
            ax.set_ylim(-0.02, 1.02)
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("greedy success")
        axes[0][-1].legend(fontsize=7, loc="best")
        fig.suptitle(f"{task}: greedy success, mean and 95 % t-interval over seeds", fontsize=10)
        fig.tight_layout()
        path = out / f"curves_{task}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_summary(res: Results, out: Path) -> Path:
    matplotlib = _matplotlib()

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agents = [a for a in res.agents if a != "random"]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(res.tasks) + 2), 3.6))
    width = 0.8 / max(1, len(agents))
    for i, agent in enumerate(agents):
        means, errs = [], [[], []]
        for task in res.tasks:
            m, lo, hi, _ = mean_ci(res.env_score(task, agent).values())
            means.append(m)
            errs[0].append(0 if math.isnan(lo) else m - max(lo, 0.0))  # clipped to [0, 1]
            errs[1].append(0 if math.isnan(hi) else min(hi, 1.0) - m)
        x = np.arange(len(res.tasks)) + (i - (len(agents) - 1) / 2) * width
        ax.bar(
            x,
            means,
            width,
            yerr=errs,
            capsize=2,
            label=agent,
            color=plt.cm.tab10((res.agents.index(agent)) % 10),
        )
    ax.set_xticks(np.arange(len(res.tasks)), res.tasks, fontsize=8)
    ax.set_ylabel("normalised score (0 = random, 1 = perfect)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, ncol=4, loc="upper right")
    ax.set_title(
        "Final greedy success, normalised, mean over levels; 95 % t-interval over seeds", fontsize=9
    )
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = out / "summary.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------ tables


def headline_table(res: Results) -> list[str]:
    head = "| agent | " + " | ".join(res.tasks) + " | all envs |"
    lines = [head, "|" + "---|" * (len(res.tasks) + 2)]
    for agent in res.agents:
        cells = [_ci(res.env_score(t, agent).values()) for t in res.tasks]
        cells.append(_ci(res.overall_score(agent).values()))
        lines.append(f"| {agent} | " + " | ".join(cells) + " |")
    return lines


def _mean(runs: dict[int, dict], column: str) -> float:
    return float(np.mean([_f(r[column]) for r in runs.values()]))


def _steps_to(runs: dict[int, dict], th: int) -> str:
    hits = [_f(r[f"steps_to_{th}"]) for r in runs.values()]
    reached = [h for h in hits if not math.isnan(h)]
    if not reached:
        return f"– (0/{len(hits)})"
    return f"{int(np.median(reached)):,} ({len(reached)}/{len(hits)})"


def _world_cells(runs: dict[int, dict]) -> list[str]:
    """The worlds' columns of one agent at one env-level: mean [CI] over seeds, – when absent."""
    cells = []
    for column in ("final_test_success", "path_efficiency", "simulator_rollout_exact"):
        values = [_f(r.get(column)) for r in runs.values()]
        values = [v for v in values if not math.isnan(v)]
        cells.append(_ci(values) if values else "–")
    cells.append(f"{_mean(runs, 'cpu_seconds'):,.0f}")
    return cells


def _tries_cells(runs: dict[int, dict]) -> list[str]:
    """A several-tries question's columns: first-try success and the share of later tries that
    repeat a failed answer, mean [CI] over the seeds that have it, and CPU s."""
    cells = []
    for column in TRIES_COLUMNS:
        values = [_f(r.get(column)) for r in runs.values()]
        values = [v for v in values if not math.isnan(v)]
        cell = _ci(values) if values else "–"
        if values and len(values) < len(runs):  # some seeds had nothing to measure
            cell += f" (n={len(values)})"
        cells.append(cell)
    return [*cells, f"{_mean(runs, 'cpu_seconds'):,.0f}"]


def steps_ratio_table(res: Results) -> list[str]:
    """Per world env-level: env steps to 90 % greedy success of each model-free agent divided by
    the planner's, and the planner's divided by the planner on the rules' (what learning the
    simulator costs), paired by seed. Where the slower agent never reached 90 %, its whole
    budget stands in, so the ratio is a lower bound (``≥``); where the faster one did not,
    there is no ratio (``n/r``)."""
    pairs = [(a, MODEL_BASED) for a in MODEL_FREE if a in res.agents]
    if MODEL_BASED not in res.agents or not pairs:
        return ["(no planner and model-free agents in this sweep)"]
    if UPPER_BOUND in res.agents:
        pairs.append((MODEL_BASED, UPPER_BOUND))
    lines = [
        "| env | level | " + " | ".join(f"{a} / {b}" for a, b in pairs) + " |",
        "|---|---|" + "---|" * len(pairs),
    ]
    for task in res.tasks:
        for lv in res.levels[task]:
            if not res.cells.get((task, lv, MODEL_BASED)):
                continue
            cells = []
            for slow_agent, fast_agent in pairs:
                fast = res.cells.get((task, lv, fast_agent), {})
                slow = res.cells.get((task, lv, slow_agent), {})
                ratios = []
                for seed in sorted(set(fast) & set(slow)):
                    fast_steps = _f(fast[seed]["steps_to_90"])
                    slow_steps = _f(slow[seed]["steps_to_90"])
                    if math.isnan(fast_steps):
                        ratios.append("n/r")
                    elif fast_steps == 0:  # at 90 % before any training: no finite ratio
                        ratios.append("1.0" if slow_steps == 0 else "∞")
                    elif math.isnan(slow_steps):
                        ratios.append(f"≥{_f(slow[seed]['steps']) / fast_steps:.1f}")
                    else:
                        ratios.append(f"{slow_steps / fast_steps:.1f}")
                cells.append(", ".join(ratios) if ratios else "–")
            lines.append(f"| {task} | {lv} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Each cell lists the ratio for every seed: how many times more env steps the first agent "
        "needed to reach 90 % greedy success than the second (the model-free agents against "
        "the planner; the planner, with its learned simulator, against the same planner on the "
        "true rules). `≥` marks seeds where the first never reached it within its budget (the "
        "budget stands in); `n/r`: the second did not reach it; `∞`: the second was there before "
        "any training (step 0).",
    ]
    return lines


def env_tables(res: Results) -> list[str]:
    lines = []
    for task in res.tasks:
        for lv in res.levels[task]:
            rows = [r for a in res.agents for r in res.cells.get((task, lv, a), {}).values()]
            env_id = rows[0]["env_id"]
            if task not in TASKS:  # a named entry (conditional_tries): the env and the name
                env_id = f"{env_id} `{task}`"
            world = any(r.get("final_test_success") not in (None, "") for r in rows)
            tries = any(r.get("final_first_try_success") not in (None, "") for r in rows)
            extra = (
                ["held-out test success", "path efficiency", "5-step imagined exact", "CPU s"]
                if world  # success within the tries (the main column) against the first alone
                else ["first-try success", "later tries repeating a failed answer", "CPU s"]
                if tries
                else []
            )
            lines += [
                f"#### {env_id} level {lv} (random: {res.random[(task, lv)]:.3f})",
                "",
                "| agent | steps | final greedy success | normalised score | log-AUC | "
                "steps to 50 % | to 90 % | to 95 % | env steps/s | wall s |"
                + "".join(f" {name} |" for name in extra),
                "|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(extra),
            ]
            for agent in res.agents:
                runs = res.cells.get((task, lv, agent))
                if not runs:
                    continue
                steps = int(np.median([_f(r["steps"]) for r in runs.values()]))
                lines.append(
                    "| "
                    + " | ".join(
                        [
                            agent,
                            f"{steps:,}",
                            _ci(res.final(task, lv, agent).values()),
                            _ci(res.score(task, lv, agent).values()),
                            _ci(_f(r["auc_greedy_success"]) for r in runs.values()),
                            *(_steps_to(runs, th) for th in THRESHOLDS),
                            f"{_mean(runs, 'env_steps_per_second'):,.0f}",
                            f"{_mean(runs, 'wall_seconds'):.1f}",
                            *(_world_cells(runs) if world else _tries_cells(runs) if tries else []),
                        ]
                    )
                    + " |"
                )
            lines.append("")
    return lines


def pair_table(res: Results) -> list[str]:
    """Paired by seed: (with head) - (without), normalised score averaged over levels."""
    pairs = [(a, b) for a, b in PAIRS if a in res.agents and b in res.agents]
    if not pairs:
        return ["(no agent pairs with and without the head in this sweep)"]
    lines = [
        "| comparison | " + " | ".join(res.tasks) + " | all envs |",
        "|" + "---|" * (len(res.tasks) + 2),
    ]
    for a, b in pairs:
        cells = []
        for scores in [
            *((res.env_score(t, a), res.env_score(t, b)) for t in res.tasks),
            (res.overall_score(a), res.overall_score(b)),
        ]:
            xa, xb = scores
            diffs = [xa[s] - xb[s] for s in xa if s in xb]
            m, lo, hi, _ = mean_ci(diffs)
            mark = ""
            if not math.isnan(lo):
                mark = " ↑" if lo > 0 else (" ↓" if hi < 0 else "")
            cells.append(_fmt(m, lo, hi, bounds=(-1.0, 1.0)) + mark)
        lines.append(f"| {a} − {b} | " + " | ".join(cells) + " |")
    lines.append("")
    for a, b in pairs:  # the same, level by level: a count a reader can check in the tables
        up = down = total = 0
        for task in res.tasks:
            for lv in res.levels[task]:
                xa, xb = res.score(task, lv, a), res.score(task, lv, b)
                _, lo, hi, n = mean_ci(xa[s] - xb[s] for s in xa if s in xb)
                if n >= 2:
                    total += 1
                    up += lo > 0
                    down += hi < 0
        up, down, within = (str(n) if n else "none" for n in (up, down, total - up - down))
        lines.append(
            f"- {a} − {b}, level by level ({total} env-levels with paired seeds): the 95 % "
            f"interval of the paired difference is above 0 at {up}, below 0 at {down} and "
            f"contains 0 at {within}."
        )
    return lines


def probe_tables(res: Results) -> list[str]:
    lines = []
    for task in res.tasks:
        lv = res.levels[task][-1]
        per_agent: dict[str, dict[str, dict[str, list[float]]]] = {}
        attrs: list[str] = []
        for agent in res.agents:
            for r in res.cells.get((task, lv, agent), {}).values():
                if not r.get("probes"):
                    continue
                probes = json.loads(r["probes"])
                for kind in ("hidden", "vq", "majority"):
                    for name, acc in probes.get(kind, {}).items():
                        per_agent.setdefault(agent, {}).setdefault(kind, {}).setdefault(
                            name, []
                        ).append(acc)
                        if name not in attrs:
                            attrs.append(name)
        if not per_agent:
            continue
        lines += [
            f"#### {task} level {lv}",
            "",
            "| agent | features | " + " | ".join(attrs) + " |",
            "|---|---|" + "---|" * len(attrs),
        ]
        majority = next(iter(per_agent.values())).get("majority", {})
        lines.append(
            "| (majority class) | – | "
            + " | ".join(f"{np.mean(majority[a]):.2f}" if a in majority else "–" for a in attrs)
            + " |"
        )
        for agent, kinds in per_agent.items():
            for kind, label in (("hidden", "hidden state"), ("vq", "VQ code")):
                if kind not in kinds:
                    continue
                lines.append(
                    f"| {agent} | {label} | "
                    + " | ".join(_ci(kinds[kind][a]) if a in kinds[kind] else "–" for a in attrs)
                    + " |"
                )
        lines.append("")
    vq_rows = [r for r in res.rows if r.get("vq_codes_used") not in (None, "")]
    if vq_rows:
        lines += [
            "#### Codebook usage (test states; every level and seed pooled, n = runs)",
            "",
            "| env | agent | codes used | usage | perplexity |",
            "|---|---|---|---|---|",
        ]
        for task in res.tasks:
            for agent in res.agents:
                rows = [r for r in vq_rows if r["task"] == task and r["agent"] == agent]
                if rows:
                    lines.append(
                        f"| {task} | {agent} | "
                        f"{_ci((_f(r['vq_codes_used']) for r in rows), (0, math.inf))} | "
                        f"{_ci(_f(r['vq_usage']) for r in rows)} | "
                        f"{_ci((_f(r['vq_perplexity']) for r in rows), (0, math.inf))} |"
                    )
    return lines


# ------------------------------------------------------------------------------------ report


def suite_tables(meta: dict[str, Any]) -> list[str]:
    """The agents and env budgets, read from the suite file the sweep ran, else (that file gone,
    e.g. the sweep ran in another checkout) from the built-in suite of its name."""
    from benchmarks.suite import SuiteError, load_suite

    for source in (meta.get("suite_file"), meta.get("suite")):
        if not source:
            continue
        try:
            suite = load_suite(source)
            break
        except (OSError, SuiteError):
            continue
    else:
        return []
    lines = [
        f"Suite file `{Path(suite.path).name}`: seeds {suite.seeds}; greedy evaluation on "
        f"{suite.eval_episodes} episodes at step 0 and {suite.log_points} log-spaced steps from "
        f"{suite.first_eval_step:,}; probes on {suite.probe_states} train + "
        f"{suite.probe_states} test states. Shared settings (`agents.config.Config`): "
        + ", ".join(f"`{k}={v}`" for k, v in suite.common.items())
        + ".",
        "",
        "| agent | kind | what it is | settings | step budget |",
        "|---|---|---|---|---|",
    ]
    for name, agent in suite.agents.items():
        settings = ", ".join(f"`{k}={v}`" for k, v in agent["config"].items()) or "–"
        budget = (
            f"{agent['steps_fraction']:.0%} of the env's"
            if agent["steps_fraction"] < 1
            else ("the env's")
        )
        lines.append(
            f"| {name} | {agent['kind']} | {agent.get('description', '')} | {settings} | {budget} |"
        )
    lines += ["", "| env | levels | env steps per run | env settings |", "|---|---|---|---|"]
    for env in suite.envs:
        levels = env.get("levels", "all")
        label = env.get("name", env["task"])
        settings = [f"`{k}={v}`" for k, v in env["config"].items()]
        settings += [f"{a}: {f:.0%} of the env's steps" for a, f in env["steps_fraction"].items()]
        if env["log_points"] != suite.log_points:
            settings.append(f"{env['log_points']} log-spaced evaluations")
        lines.append(
            f"| {label} | {levels} | {int(env['max_steps']):,} | {', '.join(settings) or '–'} |"
        )
    return [*lines, ""]


def throughput_section(path: Path | None, h: str) -> list[str]:
    """The training-throughput comparison written by ``python -m benchmarks.train_throughput``."""
    if path is None:
        return []
    data = json.loads(Path(path).read_text())
    args = data["args"]
    machine = f" ({data['cpu']}, torch's {data['cpu_capability']} kernels)" if "cpu" in data else ""
    lines = [
        f"{h}# Training throughput against Stable-Baselines3",
        "",
        f"`python -m benchmarks.train_throughput --json {path}`: PPO on `{args['env']}`, "
        f"{args['num_envs']} envs x {args['rollout_steps']} steps per update, "
        f"{args['update_epochs']} epochs x {args['num_minibatches']} minibatches, "
        f"{args['steps']:,} timed env steps, "
        + (
            "one torch thread, CPU seconds of the process" + machine + "."
            if args.get("device", "cpu") == "cpu"
            else f"the model on `{args['device']}`, wall seconds."
        )
        + (
            f" The limit: the fp32 matmul rate, {data['matmul_gflops']:,.1f} GFLOP/s; "
            "FLOPs per env step are counted (acting, learning and backward); *its matmuls "
            "alone*: the share of the limit the same matmuls reach replayed without anything "
            "else (the most any other saving could give with these kernels)."
            if "matmul_gflops" in data
            else ""
        ),
        "",
        "| agent | parameters | env steps/s | MFLOP per env step | share of the limit "
        "| its matmuls alone |",
        "|---|---|---|---|---|---|",
    ]

    def percent(row: dict, key: str) -> str:
        return f"{row[key]:.1%}" if key in row else "–"

    for row in data["rows"]:
        flops = f"{row['flops_per_step'] / 1e6:.2f}" if "flops_per_step" in row else "–"
        lines.append(
            f"| {row['agent']} | {row['parameters']:,} | {row['steps_per_second']:,.0f} "
            f"| {flops} | {percent(row, 'share_of_limit')} "
            f"| {percent(row, 'matmuls_alone_share')} |"
        )
    lines.append("")
    if data.get("ratio") is not None:  # None where it ran on a GPU, without SB3
        lines += [
            f"Ratio ours / SB3: **{data['ratio']:.2f}x** with the same algorithm (heads "
            f"off), **{data['ratio_world_model']:.2f}x** with the world-model head on.",
            "",
        ]
    return lines


def build_report(
    results_dir: Path,
    plot_dir: Path,
    plot_link: str,
    heading: str = "#",
    throughput: Path | None = None,
) -> str:
    rows = read_rows(results_dir)
    if not rows:
        raise SystemExit(f"error: no results in {results_dir} (expected results.csv)")
    res = Results(rows)
    plot_dir.mkdir(parents=True, exist_ok=True)
    curves = plot_learning_curves(res, plot_dir)
    summary = plot_summary(res, plot_dir)
    meta_path = results_dir / "suite.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    suite = res.rows[0]["suite"] if res.rows else "?"
    h = heading
    setting = (
        f"{meta.get('backend', 'process')} backend, {meta.get('workers', '?')} workers, "
        f"{meta.get('cores', '?')} cores, started {meta.get('started', '?')}"
    )
    tail = (
        f"`python -m benchmarks.report {results_dir}`; every number below is computed by these "
        "tools from its `results.csv`. Intervals are clipped to the metric's range."
    )
    if meta.get("commands"):  # pieces of one sweep, put together by benchmarks.merge
        produced = [
            f"Produced by the runs below ({setting}), each into its own directory, put together "
            f"by `python -m benchmarks.merge`, and {tail}",
            "",
            *(f"- `{command}`" for command in meta["commands"]),
        ]
    else:
        command = meta.get("command") or f"python -m benchmarks.run --suite {suite}"
        produced = [f"Produced by `{command}` ({setting}) and {tail}"]
    lines = [
        f"{h} Benchmark results: suite `{suite}`",
        "",
        *produced,
        "",
        f"Runs: {len(res.rows)} ok, {len(res.errors)} failed; {len(res.tasks)} envs, "
        f"{sum(len(v) for v in res.levels.values())} env-levels, {len(res.agents)} agents, "
        f"seeds {res.seeds}. Total CPU time "
        f"{sum(_f(r['cpu_seconds']) for r in res.all_rows) / 60:.1f} min.",
        "",
        "**Method.** Each cell is one agent trained from scratch on one env at one level with "
        "one seed, for the env's step budget (env steps over all vector envs). Greedy success "
        "is measured on a fixed set of fresh episodes (`eval_episodes` of the suite) at step 0 "
        "and log-spaced steps. Intervals are two-sided 95 % **Student-t** intervals of the mean "
        "over seeds (n = seeds; `benchmarks/stats.py`). The **normalised score** is bsuite's "
        "(x − random) / (1 − random), clipped to [0, 1], where x is the final greedy success and "
        "random is the random agent's mean at that env and level; an env's score averages its "
        "levels per seed, then the interval is taken over seeds. **Steps to X %**: the first "
        "logged step with greedy success ≥ X (raw success, not normalised; resolution is the "
        "log grid), median over the seeds that reached it (reached/total). **log-AUC**: mean "
        "greedy success over the logged points after step 0. **env steps/s**: training loop "
        "only (rollouts and updates; evaluations and probes excluded).",
        "",
        *suite_tables(meta),
        f"{h}# Headline: normalised score per env (mean [95 % CI] over seeds)",
        "",
        *headline_table(res),
        "",
        f"![summary]({plot_link}/{summary.name})",
        "",
        f"{h}# Does the world-model head help? (paired by seed)",
        "",
        "Difference of normalised scores, (agent with the head) − (same algorithm without), "
        "averaged over each env's levels per seed; ↑ / ↓ mark intervals that exclude 0.",
        "",
        *pair_table(res),
        "",
        *(
            [
                f"{h}# Model-based against model-free and the rules: env steps to 90 %",
                "",
                *steps_ratio_table(res),
                "",
            ]
            if MODEL_BASED in res.agents
            else []
        ),
        *throughput_section(throughput, h),
        f"{h}# Per env and level",
        "",
        *env_tables(res),
        f"{h}# Learning curves",
        "",
        *(f"![{p.stem}]({plot_link}/{p.name})" for p in curves),
        "",
        f"{h}# Representation analysis: linear probes",
        "",
        "At each env's top level, after training: probe test accuracy (mean [95 % CI] over "
        "seeds) of each state attribute from the core's summary vector (ridge least-squares "
        "classifier) and from the VQ code (a per-code majority table, the best linear probe on a "
        "one-hot code), on fresh test states, against the majority class. The random agent's "
        "row is the same architecture untrained: the control for how much a probe reads off a "
        "random network. Numbers of 20 and more are split into tens and ones digits; `answer` is "
        "the correct action.",
        "",
        *probe_tables(res),
        "",
    ]
    if res.errors:
        lines += [f"{h}# Failed runs", ""]
        lines += [f"- `{r['cell_id']}`: {r['error'][:200]}" for r in res.errors]
        lines.append("")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("results_dir", help="a directory written by python -m benchmarks.run")
    p.add_argument(
        "--results_md", "--results-md", help="also write the report between the markers here"
    )
    p.add_argument(
        "--train_throughput",
        "--train-throughput",
        metavar="JSON",
        help="include this python -m benchmarks.train_throughput --json output",
    )
    return p


def _publish_meta(source: Path, target: Path) -> None:
    """Copy a run's ``suite.json`` beside the published rows, its suite file named relative to
    the repository (not this machine's checkout)."""
    meta = json.loads(source.read_text())
    suite_file = Path(meta.get("suite_file") or "")
    root = Path(__file__).resolve().parent.parent
    if suite_file.is_absolute() and suite_file.resolve().is_relative_to(root):
        meta["suite_file"] = suite_file.resolve().relative_to(root).as_posix()
    atomic_write_text(target, json.dumps(meta, indent=2))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    results_dir = Path(args.results_dir)
    tp = Path(args.train_throughput) if args.train_throughput else None
    text = build_report(results_dir, results_dir / "plots", "plots", throughput=tp)
    atomic_write_text(results_dir / "report.md", text + "\n")
    print(f"wrote {results_dir / 'report.md'} and {results_dir / 'plots'}/")
    if args.results_md:
        target = Path(args.results_md)
        suite = read_rows(results_dir)[0]["suite"]
        # the default suite's plots sit in plots/, another suite's in plots/<suite>/
        link = "plots" if suite == "default" else f"plots/{suite}"
        plots = target.parent / link
        plots.mkdir(parents=True, exist_ok=True)
        data = target.parent / "results"
        data.mkdir(parents=True, exist_ok=True)
        shutil.copy2(results_dir / "results.csv", data / f"{suite}.csv")
        if (results_dir / "suite.json").exists():  # how the rows were produced, for merge
            _publish_meta(results_dir / "suite.json", data / f"{suite}.json")
        if tp is not None:
            if tp.resolve() != (data / "train_throughput.json").resolve():
                shutil.copy2(tp, data / "train_throughput.json")
            tp = data / "train_throughput.json"
        text = build_report(results_dir, results_dir / "plots", link, "##", tp)
        for png in (results_dir / "plots").glob("*.png"):
            shutil.copy2(png, plots / png.name)
        text += (
            f"\nThe raw rows are in [results/{suite}.csv](results/{suite}.csv) and the commands "
            f"that produced them in `results/{suite}.json`: `python -m benchmarks.merge DIR "
            f"benchmarks/results/{suite}.csv [more result directories]` puts them (and new runs) "
            "into DIR, and `python -m benchmarks.report DIR` rebuilds these tables.\n"
        )
        begin, end = section_markers(suite)
        try:
            write_section(target, begin, end, text.rstrip(), default="# Benchmark results\n")
        except ValueError as error:
            raise SystemExit(f"error: {target}: {error}") from None
        print(f"wrote the benchmark section of {target} (other sections kept), plots in {plots}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
