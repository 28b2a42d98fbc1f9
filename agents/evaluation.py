"""Greedy evaluation on fresh episodes: success overall, per difficulty, per relation / kind,
policy entropy, world-model error, VQ usage and sample episodes rendered as text."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch.distributions import Categorical

import wmil_envs  # noqa: F401  (registers the ids)
from wmil_envs import vocab

MAX_EVAL_ENVS = 1024
CATEGORY_FIELDS = wmil_envs.tasks.CATEGORY_FIELDS  # field -> value names, from the task registry
"""Instance fields that name a category, and the names of their values."""


def make_eval_envs(cfg, num_envs: int, difficulty: int | None = None, split: str | None = None):
    kwargs = cfg.env_kwargs()
    if difficulty is not None:
        kwargs["difficulty"] = difficulty
    if split is not None:
        kwargs["split"] = split
    return gym.make_vec(cfg.env_id, num_envs=num_envs, render_mode="ansi", **kwargs)


def valid_levels(envs) -> list[int]:
    task = envs.unwrapped.task
    levels = []
    for level in sorted(task.levels):
        try:
            task.check_level(level)
        except ValueError:
            continue
        levels.append(level)
    return levels


def run_episodes(envs, agent, episodes: int, seed: int, greedy: bool = True, samples: int = 0):
    """Play ``episodes`` episodes; return per-episode success and category, transitions, texts."""
    n = envs.num_envs
    success, categories, texts = [], [], []
    obs_rows, action_rows, next_rows = [], [], []
    first_obs, first_actions, golds, field_rows = [], [], [], []
    rounds = math.ceil(episodes / n)
    for r in range(rounds):
        obs, _ = envs.reset(seed=seed if r == 0 else None)
        fields = {name: np.array(values) for name, values in envs.states.fields.items()}
        field_rows.append(fields)
        golds.append(envs.states.answer.copy())
        first_obs.append(obs.copy())
        category = next((k for k in CATEGORY_FIELDS if k in fields), None)
        lines = [[line] for line in envs.render()] if len(texts) < samples else None
        episode_success = np.zeros(n, dtype=bool)
        for _t in range(envs.unwrapped.episode_length):
            actions = np.asarray(agent.act(obs, greedy=greedy), dtype=np.int64)
            new_obs, _rew, terminated, _trunc, infos = envs.step(actions)
            next_obs = infos["final_obs"] if "final_obs" in infos else new_obs
            obs_rows.append(obs)
            action_rows.append(actions)
            if _t == 0:
                first_actions.append(actions)
            next_rows.append(next_obs)
            episode_success |= (
                infos["final_info"]["episode_success"] if terminated.all() else (infos["success"])
            )
            if lines is not None:
                for i, line in enumerate(lines):
                    line.append(_describe_step(envs, actions[i], next_obs[i]))
            obs = new_obs
        success.append(episode_success)
        if category:
            names = CATEGORY_FIELDS[category]
            categories.extend(names[int(c)] for c in fields[category])
        if lines is not None:
            texts.extend(" ".join(line) for line in lines[: samples - len(texts)])
    take = episodes
    return {
        "success": np.concatenate(success)[:take],
        "categories": categories[:take] if categories else None,
        "category_field": category if categories else None,
        "obs": np.concatenate(obs_rows),
        "actions": np.concatenate(action_rows),
        "next_obs": np.concatenate(next_rows),
        "texts": texts,
        # per episode: the first observation and action, the rule's answer, the instance fields
        "first_obs": np.concatenate(first_obs)[:take],
        "first_actions": np.concatenate(first_actions)[:take],
        "gold": np.concatenate(golds)[:take],
        "fields": {k: np.concatenate([f[k] for f in field_rows])[:take] for k in field_rows[0]},
    }


def _describe_step(envs, action: int, next_obs: np.ndarray) -> str:
    feedback = {vocab.CORRECT: "correct", vocab.WRONG: "wrong"}.get(int(next_obs[-1]), "?")
    answer = envs.unwrapped.task.describe_answer(int(action))
    return f"A: {answer} ({feedback})"


def greedy_success(cfg, agent, episodes: int, seed: int, difficulty: int | None = None) -> float:
    envs = make_eval_envs(cfg, min(episodes, MAX_EVAL_ENVS), difficulty)
    try:
        return float(run_episodes(envs, agent, episodes, seed)["success"].mean())
    finally:
        envs.close()


@torch.no_grad()
def model_metrics(model, obs: np.ndarray, actions: np.ndarray, next_obs: np.ndarray) -> dict:
    """Policy entropy, world-model loss / token error / exact rate, VQ usage on transitions."""
    was_training = model.training
    model.eval()
    try:
        out = model(torch.as_tensor(obs))
        metrics: dict[str, Any] = {
            "policy_entropy": float(Categorical(logits=out.logits).entropy().mean())
        }
        if model.wm_head is not None:
            logits = model.world_model_logits(out.hidden, torch.as_tensor(actions))
            wm = model.world_model_stats(logits, torch.as_tensor(next_obs))
            metrics["world_model_loss"] = float(wm.loss)
            metrics["world_model_token_error"] = float(wm.token_error)
            metrics["world_model_obs_error"] = float(1 - wm.sample_exact.mean())
        if model.vq is not None:
            codes = out.vq.codes
            counts = torch.bincount(codes, minlength=model.vq.num_codes).float()
            probs = counts / counts.sum()
            metrics["vq_usage"] = float((counts > 0).float().mean())
            metrics["vq_codes_used"] = int((counts > 0).sum())
            metrics["vq_perplexity"] = float(torch.exp(-(probs * torch.log(probs + 1e-10)).sum()))
        return metrics
    finally:
        model.train(was_training)


def full_evaluation(cfg, model, agent, episodes: int, seed: int, split: str | None = None,
                    samples: int = 5, difficulty: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Everything ``python -m agents.evaluate`` reports, as a JSON-ready dict."""
    num_envs = min(episodes, MAX_EVAL_ENVS)
    main_level = cfg.difficulty if difficulty is None else difficulty
    envs = make_eval_envs(cfg, num_envs, main_level, split)
    try:
        levels = valid_levels(envs)
        main = run_episodes(envs, agent, episodes, seed, samples=samples)
        # the world model under uniformly random actions (right and wrong answers alike)
        rng = np.random.default_rng(seed + 1)
        random_agent = _Uniform(envs.single_action_space.n, rng)
        rand = run_episodes(envs, random_agent, min(episodes, 1024), seed + 1)
    finally:
        envs.close()
    result: dict[str, Any] = {
        "task": cfg.task_name,
        "difficulty": main_level,
        "split": split if split is not None else cfg.split,
        "episodes": int(len(main["success"])),
        "success_rate": float(main["success"].mean()),
        "per_difficulty": {},
        "samples": main["texts"],
    }
    if main["categories"] is not None:
        table: dict[str, dict[str, float]] = {}
        order = CATEGORY_FIELDS[main["category_field"]]  # the vocabulary's order
        for name in [n for n in order if n in set(main["categories"])]:
            mask = np.array([c == name for c in main["categories"]])
            correct = int(main["success"][mask].sum())
            table[name] = {"correct": correct, "total": int(mask.sum()),
                           "accuracy": correct / int(mask.sum())}  # fmt: skip
        result["per_category_field"] = main["category_field"]
        result["per_category"] = table
    if difficulty is None:
        for level in levels:
            if level == main_level:
                rate = result["success_rate"]
            else:
                envs = make_eval_envs(cfg, num_envs, level, split)
                try:
                    rate = float(run_episodes(envs, agent, episodes, seed)["success"].mean())
                finally:
                    envs.close()
            result["per_difficulty"][str(level)] = rate
    else:
        result["per_difficulty"][str(main_level)] = result["success_rate"]
    task = envs.unwrapped.task
    p_yes = None
    if cfg.task_name == "numeric_relation":
        if model is not None and model.num_actions >= 2:
            p_yes = yes_probability(model, main["first_obs"])
        result["numeric"] = numeric_relation_details(main, task, p_yes, samples)
    elif cfg.task_name == "counting":
        result["counting"] = counting_details(main, task, samples)
    if model is not None and model.vq is not None and cfg.task_name in NUMBER_FIELD:
        result["vq_codes"] = vq_code_details(model, main, cfg.task_name)
    if model is not None:
        result.update(model_metrics(model, main["obs"], main["actions"], main["next_obs"]))
        if model.wm_head is not None:
            rnd = model_metrics(model, rand["obs"], rand["actions"], rand["next_obs"])
            result["world_model_random_actions"] = {
                k: rnd[k] for k in rnd if k.startswith("world_model")
            }
    return result


# ---------------------------------------------------------------------------------------------
# The Concept Learner's extra tables: p(yes) thresholds, close / far pairs, sample questions,
# counting answers, and which VQ codes the numbers map to.

THRESHOLDS = (0.4, 0.5, 0.6)
CLOSE_FAR_RELATIONS = ("greater", "smaller")
NUMBER_FIELD = {"numeric_relation": "a", "counting": "n"}
"""The number whose digits the VQ table is about: ``a`` of ``R(a, b)``, ``n`` of a count."""
_CHUNK = 4096


@torch.no_grad()
def yes_probability(model, obs: np.ndarray) -> np.ndarray:
    """p(yes): the policy's probability of action 1, renormalised over the actions no (0) and
    yes (1) when there are more than two actions."""
    was_training = model.training
    model.eval()
    try:
        parts = []
        for start in range(0, len(obs), _CHUNK):
            logits = model(torch.as_tensor(obs[start : start + _CHUNK])).logits[:, :2]
            parts.append(torch.softmax(logits.double(), dim=-1)[:, 1].numpy())
        return np.concatenate(parts) if parts else np.zeros(0)
    finally:
        model.train(was_training)


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


def _purity(codes: np.ndarray, values: np.ndarray) -> tuple[float, float]:
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
    was_training = model.training
    model.eval()
    try:
        obs = main["first_obs"]
        codes = np.concatenate([
            model(torch.as_tensor(obs[s : s + _CHUNK])).vq.codes.numpy()
            for s in range(0, len(obs), _CHUNK)
        ])  # fmt: skip
    finally:
        model.train(was_training)
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
        value, chance = _purity(codes, values)
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


class _Uniform:
    def __init__(self, n: int, rng: np.random.Generator):
        self.n, self.rng = n, rng

    def act(self, obs, greedy=True):
        return self.rng.integers(0, self.n, size=len(obs))


def format_report(result: dict[str, Any]) -> str:
    """The evaluation as text, with the per-relation table in the Concept Learner's form."""
    lines = [
        f"Task {result['task']} (difficulty {result['difficulty']}"
        + (f", split {result['split']}" if result.get("split") else "")
        + ")",
        f"Eval accuracy over {result['episodes']} examples: {result['success_rate']:.4f}",
    ]
    if result.get("per_category"):
        label = "relation" if result.get("per_category_field") == "relation" else "kind"
        lines.append(f"Per-{label} accuracy:")
        width = max(len(name) for name in result["per_category"])
        for name, row in result["per_category"].items():
            lines.append(
                f"{name:<{width}} : {row['correct']}/{row['total']} = {row['accuracy']:.3f}"
            )
    lines.extend(_numeric_lines(result.get("numeric")))
    lines.extend(_counting_lines(result.get("counting")))
    if result.get("per_difficulty"):
        lines.append("Per-difficulty accuracy (greedy):")
        for level, rate in result["per_difficulty"].items():
            lines.append(f"level {level} : {rate:.3f}")
    if "policy_entropy" in result:
        lines.append(f"Policy entropy (nats): {result['policy_entropy']:.4f}")
    if "world_model_loss" in result:
        lines.append(
            "World model on greedy actions: token error "
            f"{result['world_model_token_error']:.4f}, observation error "
            f"{result['world_model_obs_error']:.4f}, cross-entropy {result['world_model_loss']:.4f}"
        )
        rnd = result.get("world_model_random_actions")
        if rnd:
            lines.append(
                "World model on random actions: token error "
                f"{rnd['world_model_token_error']:.4f}, observation error "
                f"{rnd['world_model_obs_error']:.4f}, cross-entropy {rnd['world_model_loss']:.4f}"
            )
    if "vq_usage" in result:
        lines.append(
            f"VQ: {result['vq_codes_used']} codes used ({result['vq_usage']:.3f} of the codebook), "
            f"perplexity {result['vq_perplexity']:.2f}"
        )
    lines.extend(_vq_lines(result.get("vq_codes")))
    if result.get("samples"):
        lines.append("Sample episodes:")
        lines.extend(f"  {text}" for text in result["samples"])
    return "\n".join(lines)


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
            acc = "n/a" if row["accuracy"] is None else f"{row['accuracy']:.3f}"
            lines.append(f"{name} {part} (|a-b|{sign}1): {row['examples']} ex, acc={acc}")
    lines.append("Sample QA predictions:")
    lines.extend(_qa_lines(numeric["samples"]))
    if numeric["errors"]:
        lines.append("Sample errors:")
        lines.extend(_qa_lines(numeric["errors"]))
    return lines


def _counting_lines(counting: dict[str, Any] | None) -> list[str]:
    if not counting:
        return []
    lines = ["Counting evaluation:", f"Counting eval accuracy: {counting['accuracy']:.3f}"]
    for key, name in [("crossing_ten", "crossing a ten (tens digit changes)"),
                      ("within_ten", "within a ten")]:  # fmt: skip
        row = counting[key]
        acc = "n/a" if row["accuracy"] is None else f"{row['accuracy']:.3f}"
        lines.append(f"{name}: {row['total']} ex, acc={acc}")
    lines.extend(_qa_lines(counting["samples"]))
    if counting["errors"]:
        lines.append("Sample errors:")
        lines.extend(_qa_lines(counting["errors"]))
    return lines


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
