"""The locked MVP's success criteria (the WMIL plan), measured on a run's history, and their
report: ``mvp_criteria`` goes into every ``summary.json``, ``format_criteria`` is what
``python -m agents.train`` prints at the end."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.config import Config


def mvp_criteria(history: dict[str, list[float]], num_actions: int, cfg: Config) -> list[dict]:
    """The locked MVP's four success criteria, each with its measured value and PASS/FAIL."""
    steps = history["step"]
    if not steps:
        return []
    episodes_per_update = cfg.num_envs * cfg.rollout_steps / cfg.horizon()
    k = max(1, math.ceil(cfg.success_window / episodes_per_update))
    k = min(k, max(1, len(steps) // 2))
    chance = 1.0 / num_actions
    final = history["success_rate"][-1]
    by = min(5000, steps[-1])
    at = max(i for i, s in enumerate(steps) if s <= by) if steps[0] <= by else 0
    out = [
        {
            "name": f"success rate > {chance:.1%} (chance 1/{num_actions})",
            "value": final,
            "measured": f"{final:.1%} at step {steps[-1]:,}",
            "passed": final > chance,
        },
        {
            "name": "success rate > 50% by step 5,000",
            "value": history["success_rate"][at],
            "measured": f"{history['success_rate'][at]:.1%} at step {steps[at]:,}"
            + (" (run shorter than 5,000 steps)" if steps[-1] < 5000 else ""),
            "passed": history["success_rate"][at] > 0.5,
        },
    ]
    first_h, last_h = np.mean(history["entropy"][:k]), np.mean(history["entropy"][-k:])
    out.append({
        "name": "policy entropy falls over training",
        "value": [float(first_h), float(last_h)],
        "measured": f"{first_h:.3f} -> {last_h:.3f} nats (first vs last {k} updates)",
        "passed": bool(last_h < first_h),
    })  # fmt: skip
    wm = history["world_model_loss"]
    if wm and not math.isnan(wm[0]):
        first_w, last_w = np.mean(wm[:k]), np.mean(wm[-k:])
        err = history["world_model_token_error"]
        first_e, last_e = np.mean(err[:k]), np.mean(err[-k:])
        out.append({
            "name": "world-model error falls over training",
            "value": [float(first_w), float(last_w)],
            "measured": f"cross-entropy {first_w:.3f} -> {last_w:.4f}, next-token error "
            f"{first_e:.1%} -> {last_e:.2%} (first vs last {k} updates)",
            "passed": bool(last_w < first_w),
        })  # fmt: skip
    else:
        out.append({
            "name": "world-model error falls over training",
            "value": None,
            "measured": "not measured: the world-model head is off",
            "passed": None,
        })  # fmt: skip
    return out


def format_criteria(summary: dict[str, Any]) -> str:
    lines = [
        f"Success criteria of the locked MVP (success rate = {summary['success_rate_definition']}):"
    ]
    for i, c in enumerate(summary["criteria"], 1):
        verdict = {True: "PASS", False: "FAIL", None: "N/A"}[c["passed"]]
        lines.append(f"  {i}. {c['name']:<42} {c['measured']:<60} {verdict}")
    evals = summary["greedy_evals"]
    if evals:
        parts = [f"{e['step']:,}: {e['greedy_success']:.1%}" for e in evals]
        lines.append("Greedy success (step: rate): " + ", ".join(parts))
    verdict = "ALL PASS" if summary["all_criteria_passed"] else "NOT ALL PASSED"
    lines.append(
        f"{verdict}; {summary['steps']:,} steps in {summary['train_seconds']:.1f} s; "
        f"run directory {summary['run_dir']}"
    )
    return "\n".join(lines)
