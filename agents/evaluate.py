"""``python -m agents.evaluate``: greedy evaluation of a trained checkpoint.

    python -m agents.evaluate --checkpoint runs/RUN/checkpoint.pt --episodes 1000 --json out.json
    python -m agents.evaluate --checkpoint runs/RUN --split test      # numeric envs: held-out pairs

Reports the greedy success rate overall, per difficulty and per relation (numeric_relation) or
question kind (counting), in the form of the Concept Learner's evaluation: for numeric_relation
also accuracy at p(yes) thresholds 0.4 / 0.5 / 0.6 (p(yes): the policy's probability of action
1, renormalised over no / yes), greater and smaller on close (|a-b| <= 1) and far pairs, and
sample questions with gold, prediction and p(yes); for counting, sample answers. Then the policy
entropy; the world-model error (next-token and whole-observation error, on the greedy actions
and on random ones); VQ usage and, for the numeric tasks, the code each number mostly maps to and
how purely the codes separate its parity, tens and ones; and sample episodes as text.

Without ``--difficulty``, the main table is at the level the run reached (its starting level, or
its curriculum's last), and every level's accuracy is listed; with it, that level only.

Flags are spelled with underscores (``--no_ema``); the hyphen spelling (``--no-ema``) works too.
"""

from __future__ import annotations

import argparse
import json
import sys

from agents.checkpoint import (
    CheckpointError,
    atomic_write_text,
    load_checkpoint,
    model_weights,
    nonfinite_weights,
)
from agents.config import SPLIT_TASKS, ConfigError, config_from_dict


def evaluate_checkpoint(path, episodes: int = 1000, split: str | None = None,
                        difficulty: int | None = None, samples: int = 5, seed: int = 12345,
                        use_ema: bool = True) -> dict:  # fmt: skip
    import torch

    from agents.algorithm import make_policy
    from agents.scoring import full_evaluation, make_eval_envs
    from agents.training_loop import build_model

    ck = load_checkpoint(path)
    try:
        cfg = config_from_dict(ck["config"]).validate()
    except ConfigError as error:
        raise CheckpointError(
            f"checkpoint {str(path)!r} holds an invalid config: {error}"
        ) from None
    if split is not None and cfg.task_name not in SPLIT_TASKS:
        raise ConfigError(
            f"--split is only for {', '.join(SPLIT_TASKS)}; this checkpoint is {cfg.task_name}"
        )
    if difficulty is None:  # the level the run reached (its curriculum's), then every level
        cfg.difficulty = int(ck.get("level", cfg.difficulty))
    torch.set_num_threads(max(cfg.torch_threads, 1))
    probe = make_eval_envs(cfg, 1)  # with the episode memory the run trained with, if any
    model = build_model(cfg, probe)
    probe.close()
    bad = nonfinite_weights(model_weights(ck, use_ema))
    if bad:
        raise CheckpointError(
            f"checkpoint {str(path)!r} holds NaN or infinite weights ({', '.join(bad[:3])}); "
            "evaluate an older one under checkpoints/"
        )
    try:
        model.load_state_dict(model_weights(ck, use_ema))
    except RuntimeError as error:
        raise CheckpointError(
            f"checkpoint {str(path)!r} weights do not fit its config: {str(error)[:300]}"
        ) from None
    model.eval()
    policy = make_policy(cfg.algorithm, model, seed, cfg)
    result = full_evaluation(cfg, policy.model, policy, episodes, seed, split=split,
                             samples=samples, difficulty=difficulty)  # fmt: skip
    result["checkpoint_step"] = int(ck["step"])
    result["algorithm"] = cfg.algorithm
    result["seed"] = cfg.seed
    return result


def build_parser() -> argparse.ArgumentParser:
    """The command line (flags with underscores; the hyphen spelling works too)."""
    p = argparse.ArgumentParser(
        prog="python -m agents.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--checkpoint", required=True, help="checkpoint file or run directory")
    p.add_argument(
        "--episodes", type=int, default=1000, help="episodes per difficulty (default: %(default)s)"
    )
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--split", help="numeric_relation / counting: train, test, test_numbers, all")
    p.add_argument("--difficulty", type=int, help="evaluate this level only")
    p.add_argument(
        "--samples", type=int, default=5, help="sample episodes to print (default: %(default)s)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=12345,
        help="seed of the evaluation episodes (default: %(default)s)",
    )
    p.add_argument(
        "--no_ema", "--no-ema", action="store_true", help="use the live weights, not the EMA copy"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes {args.episodes} must be >= 1")
    from agents.scoring import format_report
    from wmil_envs.files import check_output_file

    try:
        if args.json:  # before the evaluation, which may take minutes
            check_output_file(args.json, "--json file")
        result = evaluate_checkpoint(args.checkpoint, args.episodes, args.split, args.difficulty,
                                     args.samples, args.seed, not args.no_ema)  # fmt: skip
    except (CheckpointError, ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Checkpoint {args.checkpoint} (step {result['checkpoint_step']:,}, "
          f"{result['algorithm']})")  # fmt: skip
    print(format_report(result))
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
