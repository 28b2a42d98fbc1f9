"""Offline instance files: ``python -m teachers.generate --task TASK --count N --out PATH``.

Online (default ``--provider openai``): each instance comes from the generator prompt (the LLM
parent's ``instance`` request, with a per-line seed drawn from ``--seed``), is checked against
the level's schema and the task's rules, and, with ``--critic``, is checked once more by a critic
prompt. An instance the LLM could not give, or that the critic rejects, is replaced by one the
rules draw (``"source": "rules"``), so the file always has ``--count`` lines. ``--offline``
writes the same format from the rules alone, with no API and no key. Train from a file with
``parent="replay:PATH"``. For a world (``number_walk``, ``object_edit``) an instance is a start
and a target object (``--split`` picks train, test or all pairs) and its ``answer`` the first
action of a shortest path (the world's oracle).

File format: JSON Lines, UTF-8, one instance per line, written atomically. Keys:

- ``format``: ``"wmil-instances/1"``;
- ``task``, ``level``, ``num_actions``, ``task_options`` (``relations``/``split`` if the task
  has them): what the instance is for;
- ``fields``: the task's instance fields (integers, the task's own names, e.g.
  ``{"relation": 3, "a": 12, "b": 14}``);
- ``answer``: the answer the file asserts (with ``--policy strict``, the rule's answer);
- ``question``: the instance as a sentence (``task.describe``), for people;
- ``source``: ``"llm"`` or ``"rules"``; ``provider``: ``"openai:MODEL"`` or null;
  ``prompt_version``;
- ``checks``: ``{"rule_answer": int, "llm_answer": int | null, "agreed": bool | null,
  "critic": "accepted" | "rejected" | null}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import numpy as np

from teachers import prompts
from teachers.cache import MODES, CacheMiss
from teachers.llm import POLICIES, LLMParent, ParentError
from teachers.schemas import CRITIQUE_SCHEMA, instance_problem, instance_schema
from wmil_envs.files import atomic_write_text, check_output_file
from wmil_envs.tasks import SPLIT_TASKS, TASKS, make_task
from wmil_envs.tasks.base import Task
from wmil_envs.tasks.splits import SPLITS

FORMAT = "wmil-instances/1"


def _record(task: Task, level: int, fields: dict[str, int], answer: int, **extra) -> dict:
    one = {k: np.asarray([v]) for k, v in fields.items()}
    options = prompts.task_config(task)
    return {
        "format": FORMAT,
        "task": task.name,
        "level": level,
        "num_actions": task.num_actions,
        "task_options": {k: v for k, v in options.items() if k not in ("name", "num_actions")},
        "fields": {k: int(v) for k, v in fields.items()},
        "answer": int(answer),
        "question": task.describe({k: int(v) for k, v in fields.items()}),
        "prompt_version": prompts.PROMPT_VERSION,
        "checks": {
            "rule_answer": int(task.answer(one)[0]),
            "llm_answer": None,
            "agreed": None,
            "critic": None,
        },
        **extra,
    }


def offline_records(task: Task, level: int, count: int, seed: int) -> list[dict]:
    """``count`` instances drawn by the rules (no API)."""
    fields = task.generate(np.random.default_rng(seed), count, level)
    answers = task.answer(fields)
    return [
        _record(
            task,
            level,
            {k: int(v[i]) for k, v in fields.items()},
            int(answers[i]),
            source="rules",
            provider=None,
        )
        for i in range(count)
    ]


def llm_records(
    parent: LLMParent, task: Task, level: int, count: int, seed: int, critic: bool
) -> list[dict]:
    """``count`` instances from the LLM, validated (and criticised), rules where unusable."""
    rng = np.random.default_rng(seed)
    fallback = task.generate(rng, count, level)
    seeds = rng.integers(0, 2**31 - 1, size=count)
    schema = instance_schema(task, level)
    names = list(fallback)
    provider = f"{parent.provider}:{parent.model}"

    def one(i: int) -> dict:
        rules = {k: int(v[i]) for k, v in fallback.items()}

        def rules_record() -> dict:
            """The rules' own draw, used where the LLM's answer is unusable or rejected."""
            answer = int(task.answer({k: np.asarray([v]) for k, v in rules.items()})[0])
            return _record(task, level, rules, answer, source="rules", provider=None)

        system, user = prompts.instance_prompt(task, level, int(seeds[i]))
        answer = parent.ask(
            "instance",
            system,
            user,
            schema,
            check=lambda a: instance_problem(task, level, {k: a[k] for k in names}),
        )
        if answer is None:
            return rules_record()
        fields = {k: answer[k] for k in names}
        record = _record(task, level, fields, answer["answer"], source="llm", provider=provider)
        checks = record["checks"]
        checks["llm_answer"] = answer["answer"]
        checks["agreed"] = answer["answer"] == checks["rule_answer"]
        if parent.policy != "off":
            parent._count(checked=1, disagreements=0 if checks["agreed"] else 1)
        if parent.policy == "strict":
            record["answer"] = checks["rule_answer"]
        if critic:
            system, user = prompts.critique_prompt(task, level, int(seeds[i]), answer)
            verdict = parent.ask("critique", system, user, CRITIQUE_SCHEMA)
            accepted = (
                verdict is not None and verdict["valid"] and (verdict["answer"] == record["answer"])
            )
            if not accepted:
                replaced = rules_record()
                replaced["checks"]["critic"] = "rejected"
                return replaced
            checks["critic"] = "accepted"
        return record

    return parent._map(one, count)


def write_jsonl(path: str | os.PathLike, records: list[dict]) -> None:
    """Write ``records`` as JSON Lines, atomically (temp file, then rename)."""
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def parser() -> argparse.ArgumentParser:
    """The command line. Flags are spelled with underscores (``--num_actions``), as the config keys
    of ``agents.train`` are; the hyphen spelling (``--num-actions``) is accepted too."""
    p = argparse.ArgumentParser(
        prog="python -m teachers.generate",
        description="Write a JSON Lines file of task instances from an LLM (checked by the "
        "rules) or, with --offline, from the rules alone. Hyphens work as well as underscores "
        "in flags (--num-actions = --num_actions).",
    )
    add = p.add_argument
    add("--task", required=True, choices=sorted(TASKS), help="the task to draw instances of")
    add("--count", required=True, type=_positive, help="instances (lines) to write")
    add("--out", required=True, help="the JSON Lines file to write")
    add("--level", type=int, default=0, help="difficulty level (default: %(default)s)")
    add("--num_actions", "--num-actions", type=int, help="action count (default: the task's own)")
    add(
        "--split",
        choices=SPLITS,
        help="which instances, for a task with a split (default: the task's own, train)",
    )
    add(
        "--seed",
        type=int,
        default=0,
        help="seed of the rule draws and the prompts' seeds (default: %(default)s)",
    )
    add("--offline", action="store_true", help="rules only: no API, no key")
    add(
        "--provider",
        choices=("openai", "anthropic"),
        default="openai",
        help="the LLM's API (default: %(default)s)",
    )
    add("--model", default="gpt-4o-mini", help="the LLM's model name (default: %(default)s)")
    add("--base_url", "--base-url", help="API base URL (default: the provider's)")
    add("--critic", action="store_true", help="a critic pass over every instance")
    add(
        "--policy",
        choices=POLICIES,
        default="strict",
        help="strict: write the rule's answer; advisory: the LLM's, disagreements counted; "
        "off: the LLM's, unchecked (default: %(default)s)",
    )
    add("--mode", choices=MODES, help="cache mode (default: WMIL_LLM_MODE, else record)")
    add(
        "--cache_dir",
        "--cache-dir",
        help="cache directory (default: WMIL_LLM_CACHE_DIR, else ~/.cache/wmil/llm)",
    )
    add(
        "--concurrency",
        type=_positive,
        help="LLM calls in flight (default: WMIL_LLM_CONCURRENCY, else 8)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    command_line = parser()
    args = command_line.parse_args(argv)
    options = {}
    if args.split is not None:
        if args.task not in SPLIT_TASKS:
            command_line.error(
                f"--split: task {args.task!r} has no split; tasks with one: "
                + ", ".join(SPLIT_TASKS)
            )
        options["split"] = args.split
    try:
        task = make_task(args.task, num_actions=args.num_actions, **options)
        level = task.check_level(args.level)
    except (TypeError, ValueError) as error:
        command_line.error(str(error))
    try:
        check_output_file(args.out, "--out file")  # before any (paid) answer is fetched
        records, summary = make_records(args, task, level)
        write_jsonl(args.out, records)
    except (ValueError, ParentError, CacheMiss, OSError) as error:  # OutputPathError too
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"out": args.out, "count": len(records), **summary}), file=sys.stderr)
    return 0


def make_records(args: argparse.Namespace, task: Task, level: int) -> tuple[list[dict], dict]:
    """The records the command line asks for, and the summary to print."""
    if args.offline:
        records = offline_records(task, level, args.count, args.seed)
        summary: dict[str, Any] = {"source": "rules"}
    else:
        from teachers import PROVIDERS

        parent = PROVIDERS[args.provider](
            model=args.model,
            base_url=args.base_url,
            policy=args.policy,
            mode=args.mode,
            cache_dir=args.cache_dir,
            concurrency=args.concurrency,
        )
        records = llm_records(parent, task, level, args.count, args.seed, args.critic)
        parent.close()
        summary = parent.stats()
        summary["from_llm"] = sum(r["source"] == "llm" for r in records)
        summary["critic_rejected"] = sum(r["checks"]["critic"] == "rejected" for r in records)
    return records, summary


if __name__ == "__main__":
    sys.exit(main())
