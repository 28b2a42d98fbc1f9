"""``python -m agents.train``: train an agent on a WMIL environment.

    python -m agents.train --config configs/mvp.yaml            # the locked MVP
    python -m agents.train --task pattern_echo --num_actions 8 --hidden_dim 64 --num_layers 2 \\
        --algorithm reinforce --parent deterministic --max_steps 10000
    python -m agents.train --config configs/ppo.yaml --seed 3 --run_dir runs/ppo_s3
    python -m agents.train --resume runs/ppo_s3 --max_steps 20000   # continue a run
    python -m agents.train --config configs/curriculum_sequence_next.yaml   # with a curriculum
    python -m agents.train --task sequence_next --curriculum --curriculum_schedule 0,2,4

``--curriculum`` starts at ``--difficulty`` and raises the level when the training success rate
over a window of episodes at the current level reaches ``--curriculum_threshold`` (0.8); see the
``curriculum_*`` keys below and docs/curriculum.md. summary.json then has ``curriculum`` (the
level history, each change with its env step and CPU seconds) and ``target_greedy_success``
(greedy success at the top level, on fresh episodes).

Flags override the config file, which overrides the defaults (``agents.config.Config``, whose
field docstrings are the help below). ``--max_steps`` counts environment steps over all vector
envs. Ctrl-C stops at the end of the current update and writes a checkpoint that ``--resume``
continues from exactly.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agents.checkpoint import CheckpointError, load_checkpoint
from agents.cli import config_parser, load_yaml, parse_flags
from agents.config import ConfigError, config_from_dict

FILE_FLAGS = {
    "config": "a YAML file of config keys (FILE.yaml); flags override it",
    "resume": "continue the run in this directory (or from this checkpoint file) exactly where "
    "it stopped; only a few flags (e.g. --max_steps) may change",
}
"""The flags that are not config keys."""


def build(argv: list[str]):
    """(Trainer, message) from command-line arguments; raises ConfigError / CheckpointError."""
    from agents.training_loop import Trainer, resume_config

    values, extra = parse_flags(argv, FILE_FLAGS)
    if "resume" in extra:
        if "config" in extra:
            raise ConfigError(
                "--config cannot be combined with --resume (the run keeps its config)"
            )
        run_dir = Path(extra["resume"])
        checkpoint = load_checkpoint(run_dir)
        if run_dir.is_file():
            run_dir = run_dir.parent if run_dir.name == "checkpoint.pt" else run_dir.parent.parent
        values.pop("run_dir", None)
        cfg = resume_config(checkpoint, values)
        cfg.run_dir = str(run_dir)
        trainer = Trainer(cfg, run_dir, checkpoint=checkpoint)
        return trainer, f"resuming {run_dir} at step {trainer.step:,}"
    base = config_from_dict(load_yaml(extra["config"])) if "config" in extra else None
    cfg = config_from_dict(values, base=base).validate()
    trainer = Trainer(cfg)
    existing = [p for p in ("checkpoint.pt", "summary.json") if (trainer.run_dir / p).exists()]
    if existing:
        raise ConfigError(
            f"run directory {str(trainer.run_dir)!r} already holds a run ({', '.join(existing)}); "
            f"continue it with --resume {trainer.run_dir} or choose another --run_dir"
        )
    trainer.cfg.run_dir = str(trainer.run_dir)
    return trainer, f"training in {trainer.run_dir}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        config_parser("python -m agents.train", __doc__, FILE_FLAGS).print_help()
        return 0
    from agents.mvp import format_criteria

    try:
        trainer, message = build(argv)
    except (ConfigError, CheckpointError, ValueError, TypeError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from agents.model import parameter_count

    cfg = trainer.cfg
    print(
        f"{message}: {cfg.env_id} ({cfg.num_envs} envs), {cfg.algorithm}, "
        f"{parameter_count(trainer.model):,} parameters, {cfg.max_steps:,} steps",
        flush=True,
    )
    summary = trainer.train()
    if not summary["finished"]:
        print(
            f"stopped at step {summary['steps']:,}; continue with: "
            f"python -m agents.train --resume {trainer.run_dir}"
        )
    print(format_criteria(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
