"""The Concept Learner's extra evaluation tables for the numeric tasks.

For numeric_relation: accuracy at p(yes) thresholds, greater / smaller on close and far pairs,
sample questions and errors; for counting: answers that cross a ten or stay within one, samples
and errors; for both, with a VQ head, which code each number mostly maps to and how purely the
codes separate its parity, tens and ones. :func:`concept_details` computes them for
:func:`agents.scoring.full_evaluation`; :func:`answer_lines` and :func:`vq_lines` write them in
the Concept Learner's text form for :func:`agents.scoring.format_report`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.model import evaluating
from wmil_envs import vocab

THRESHOLDS = (0.4, 0.5, 0.6)
CLOSE_FAR_RELATIONS = ("greater", "smaller")
NUMBER_FIELD = {"numeric_relation": "a", "counting": "n"}
"""The number whose digits the VQ table is about: ``a`` of ``R(a, b)``, ``n`` of a count."""
_CHUNK = 4096


@torch.no_grad()
def yes_probability(model, obs: np.ndarray) -> np.ndarray:
    """p(yes): the policy's probability of action 1, renormalised over the actions no (0) and
    yes (1) when there are more than two actions."""
    with evaluating(model):
        parts = []
        for start in range(0, len(obs), _CHUNK):
            logits = model(torch.as_tensor(obs[start : start + _CHUNK])).logits[:, :2]
            parts.append(torch.softmax(logits.double(), dim=-1)[:, 1].numpy())
        return np.concatenate(parts) if parts else np.zeros(0)


def _rate(mask: np.ndarray, correct: np.ndarray) -> dict[str, Any]:
    n = int(mask.sum())
    return {"examples": n, "accuracy": float(correct[mask].mean()) if n else None}


def numeric_relation_details(main: dict, task, p_yes: np.ndarray | None, samples: int) -> dict:
    """Accuracy at p(yes) thresholds, greater / smaller on close and far pairs, samples."""
    fields, gold = main["fields"], main["gold"]
    pred = main["first_actions"]
    correct = pred == gold
    relation = np.array([vocab.RELATIONS[int(r)] for r in fields["relation"]])
    a, b = fields["a"], fields["b"]
    details: dict[str, Any] = {"first_step_accuracy": float(correct.mean())}
    if p_yes is not None:
        details["accuracy_at_threshold"] = {
            f"{thr:.1f}": float(((p_yes > thr).astype(np.int64) == gold).mean())
            for thr in THRESHOLDS
        }
        grid = np.round(np.arange(0.35, 0.6501, 0.01), 2)
        accs = [float(((p_yes > thr).astype(np.int64) == gold).mean()) for thr in grid]
        best = int(np.argmax(accs))
        details["best_threshold"] = {"threshold": float(grid[best]), "accuracy": accs[best]}
    details["close_far"] = {}
    for name in CLOSE_FAR_RELATIONS:
        mask = relation == name
        if mask.any():
            close = np.abs(a - b) <= 1
            details["close_far"][name] = {
                "close": _rate(mask & close, correct),
                "far": _rate(mask & ~close, correct),
            }

    def sample(i: int) -> dict[str, Any]:
        row = {
            "question": task.describe({k: v[i] for k, v in fields.items()}),
            "relation": str(relation[i]),
            "gold": task.describe_answer(int(gold[i])),
            "pred": task.describe_answer(int(pred[i])),
        }
        if p_yes is not None:
            row["p_yes"] = float(p_yes[i])
        return row

    firsts = [
        int(np.flatnonzero(relation == r)[0]) for r in vocab.RELATIONS if (relation == r).any()
    ]
    details["samples"] = [sample(i) for i in firsts[:samples]]
    details["errors"] = [sample(int(i)) for i in np.flatnonzero(~correct)[:samples]]
    return details


def counting_details(main: dict, task, samples: int) -> dict:
    """Accuracy of the first answer, split by whether the answer crosses a ten (its tens digit
    differs from n's: after 19, before 40), and sample questions with gold and predicted
    numbers."""
    fields, gold, pred = main["fields"], main["gold"], main["first_actions"]
    correct = pred == gold
    crossing = gold // 10 != fields["n"] // 10

    def sample(i: int) -> dict[str, Any]:
        return {"question": task.describe({k: v[i] for k, v in fields.items()}),
                "kind": vocab.COUNT_KINDS[int(fields["kind"][i])],
                "gold": int(gold[i]), "pred": int(pred[i])}  # fmt: skip

    kinds = fields["kind"]
    firsts = [int(np.flatnonzero(kinds == k)[0]) for k in range(3) if (kinds == k).any()]
    rest = [i for i in range(len(gold)) if i not in firsts]
    picks = (firsts + rest)[:samples]

    def part(mask: np.ndarray) -> dict[str, Any]:
        total = int(mask.sum())
        hits = int(correct[mask].sum())
        return {"correct": hits, "total": total, "accuracy": hits / total if total else None}

    return {
        "accuracy": float(correct.mean()),
        "crossing_ten": part(crossing),
        "within_ten": part(~crossing),
        "samples": [sample(i) for i in picks],
        "errors": [sample(int(i)) for i in np.flatnonzero(~correct)[:samples]],
    }


def code_purity(codes: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """(purity, chance): the share of examples whose code's majority value is theirs, and the
    same with a single code (the majority value's share)."""
    _, value_ids = np.unique(values, return_inverse=True)
    table = np.zeros((codes.max() + 1, value_ids.max() + 1), dtype=np.int64)
    np.add.at(table, (codes, value_ids), 1)
    n = len(codes)
    return float(table.max(1).sum() / n), float(table.sum(0).max() / n)


@torch.no_grad()
def vq_code_details(model, main: dict, task_name: str) -> dict[str, Any]:
    """The VQ code of every evaluated question: the code each number (``a`` / ``n``) mostly maps
    to, and how purely codes separate its parity, tens and ones (and the question's category
    and answer)."""
    with evaluating(model):
        obs = main["first_obs"]
        codes = np.concatenate([
            model(torch.as_tensor(obs[s : s + _CHUNK])).vq.codes.numpy()
            for s in range(0, len(obs), _CHUNK)
        ])  # fmt: skip
    fields = main["fields"]
    number = fields[NUMBER_FIELD[task_name]]
    category = "relation" if task_name == "numeric_relation" else "kind"
    attributes = {
        category: fields[category],
        "answer": main["gold"],
        "parity": number % 2,
        "tens": number // 10,
        "ones": number % 10,
    }
    purity = {}
    for name, values in attributes.items():
        value, chance = code_purity(codes, values)
        purity[name] = {"purity": value, "chance": chance}
    number_codes = {}
    for n in np.unique(number):
        mine = codes[number == n]
        counts = np.bincount(mine)
        number_codes[str(int(n))] = {"code": int(counts.argmax()),
                                     "share": float(counts.max() / len(mine))}  # fmt: skip
    return {
        "number_field": NUMBER_FIELD[task_name],
        "codes_used": int(len(np.unique(codes))),
        "purity": purity,
        "number_codes": number_codes,
    }


def concept_details(task_name: str, task, model, main: dict, samples: int) -> dict[str, Any]:
    """The extra tables for ``task_name`` (none for other tasks), from the episodes ``main`` of
    :func:`agents.scoring.run_episodes`; ``model`` may be None (an agent without one)."""
    details: dict[str, Any] = {}
    if task_name == "numeric_relation":
        p_yes = None
        if model is not None and model.num_actions >= 2:
            p_yes = yes_probability(model, main["first_obs"])
        details["numeric"] = numeric_relation_details(main, task, p_yes, samples)
    elif task_name == "counting":
        details["counting"] = counting_details(main, task, samples)
    if model is not None and model.vq is not None and task_name in NUMBER_FIELD:
        details["vq_codes"] = vq_code_details(model, main, task_name)
    return details


def answer_lines(result: dict[str, Any]) -> list[str]:
    """The numeric / counting tables of an evaluation result as text (none for other tasks)."""
    return _numeric_lines(result.get("numeric")) + _counting_lines(result.get("counting"))


def vq_lines(result: dict[str, Any]) -> list[str]:
    """The VQ code table of an evaluation result as text (none without one)."""
    return _vq_lines(result.get("vq_codes"))


def _qa_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in rows:
        lines.append(f"Q: {row['question']}")
        answer = f"  gold={row['gold']} pred={row['pred']}"
        if "p_yes" in row:
            answer += f" p(yes)={row['p_yes']:.3f}"
        if "relation" in row:
            answer += f" rel={row['relation']}"
        lines.append(answer)
    return lines


def _sample_lines(details: dict[str, Any]) -> list[str]:
    """The sample questions, then the sample errors if there are any."""
    lines = _qa_lines(details["samples"])
    if details["errors"]:
        lines += ["Sample errors:", *_qa_lines(details["errors"])]
    return lines


def _accuracy(row: dict[str, Any]) -> str:
    return "n/a" if row["accuracy"] is None else f"{row['accuracy']:.3f}"


def _numeric_lines(numeric: dict[str, Any] | None) -> list[str]:
    if not numeric:
        return []
    lines = []
    for thr, acc in numeric.get("accuracy_at_threshold", {}).items():
        lines.append(f"Acc@thr={thr}: {acc:.3f}")
    best = numeric.get("best_threshold")
    if best:
        lines.append(
            f"Best fixed-threshold acc in [0.35,0.65]: {best['accuracy']:.3f} "
            f"at thr={best['threshold']:.2f}"
        )
    for name, parts in numeric["close_far"].items():
        for part, sign in (("close", "<="), ("far", ">")):
            row = parts[part]
            lines.append(
                f"{name} {part} (|a-b|{sign}1): {row['examples']} ex, acc={_accuracy(row)}"
            )
    return [*lines, "Sample QA predictions:", *_sample_lines(numeric)]


def _counting_lines(counting: dict[str, Any] | None) -> list[str]:
    if not counting:
        return []
    lines = ["Counting evaluation:", f"Counting eval accuracy: {counting['accuracy']:.3f}"]
    for key, name in [("crossing_ten", "crossing a ten (tens digit changes)"),
                      ("within_ten", "within a ten")]:  # fmt: skip
        lines.append(f"{name}: {counting[key]['total']} ex, acc={_accuracy(counting[key])}")
    return [*lines, *_sample_lines(counting)]


def _vq_lines(vq: dict[str, Any] | None) -> list[str]:
    if not vq:
        return []
    field = vq["number_field"]
    lines = [f"VQ codes ({vq['codes_used']} used) against attributes of {field} "
             "(purity: share of examples whose code's majority value is theirs):"]  # fmt: skip
    lines.append(f"  {'attribute':<10} {'purity':>7} {'chance':>7}")
    for name, row in vq["purity"].items():
        lines.append(f"  {name:<10} {row['purity']:>7.3f} {row['chance']:>7.3f}")
    by_code: dict[int, list[str]] = {}
    for number, row in vq["number_codes"].items():
        by_code.setdefault(row["code"], []).append(f"{number}({row['share']:.2f})")
    lines.append(f"Numbers ({field}) by their most frequent code (share of their questions):")
    for code in sorted(by_code):
        lines.append(f"  code {code}: " + " ".join(by_code[code]))
    return lines
