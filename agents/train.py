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
envs. Ctrl-C, or SIGTERM (what Slurm, Kubernetes and Ray send), stops at the end of the current
update and writes a checkpoint that ``--resume`` continues from exactly (exit status 0 after
Ctrl-C, 143 after SIGTERM).

A run directory belongs to one run: a new run refuses a directory that holds any file of
another (even one killed before its first checkpoint). ``--resume RUN`` (or ``RUN/checkpoint.pt``,
``RUN/checkpoints/step_*.pt``) continues in RUN; ``--resume`` from any other file continues
into ``--run_dir`` (a new or empty directory) or a new default one, never into the file's
folder. Exit status: 2 for a bad config, checkpoint or output place, 1 when training stopped on
an error (a failed save, a diverging loss, too many LLM fallbacks), 143 after SIGTERM.
"""

from __future__ import annotations

import gc
import signal
import sys
from pathlib import Path

PAUSED_COLLECTION = __name__ == "__main__" and gc.isenabled()
"""A fresh ``python -m agents.train`` process: the imports of start-up (torch, numpy, gymnasium,
TensorBoard) build hundreds of thousands of objects that live as long as the process, and the
collector would walk them over and over, about 0.1 s of a 1.3 s start; main() turns it back on
once the trainer is built."""
if PAUSED_COLLECTION:
    gc.disable()

from agents.checkpoint import CheckpointError, load_checkpoint  # noqa: E402 (after the pause)
from agents.cli import config_parser, load_yaml, parse_flags  # noqa: E402
from agents.config import ConfigError, config_from_dict  # noqa: E402
from wmil_envs.files import check_output_dir  # noqa: E402

RUN_FILES = ("config.yaml", "summary.json", "checkpoint.pt", "checkpoints", "events.out.tfevents.*")
"""What a run writes in its directory: any one of them means the directory holds a run."""

FILE_FLAGS = {
    "config": "a YAML file of config keys (FILE.yaml); flags override it",
    "resume": "continue the run in this directory (or from this checkpoint file) exactly where "
    "it stopped; only a few flags (e.g. --max_steps) may change; from a file outside a run "
    "directory, the run continues into --run_dir (new or empty) or a new default directory",
}
"""The flags that are not config keys."""


def build(argv: list[str]):
    """(Trainer, message) from command-line arguments; raises ConfigError / CheckpointError."""
    from agents.training_loop import Trainer, default_run_dir

    values, extra = parse_flags(argv, FILE_FLAGS)
    if "resume" in extra:
        if "config" in extra:
            raise ConfigError(
                "--config cannot be combined with --resume (the run keeps its config)"
            )
        return resume(Path(extra["resume"]), values)
    base = config_from_dict(load_yaml(extra["config"])) if "config" in extra else None
    cfg = config_from_dict(values, base=base).validate()
    run_dir = Path(cfg.run_dir or default_run_dir(cfg))
    refuse_other_run(run_dir, f"continue it with --resume {run_dir} or choose another --run_dir")
    cfg.run_dir = str(check_output_dir(run_dir, "run directory"))
    return Trainer(cfg, run_dir), f"training in {run_dir}"


def resume(source: Path, values: dict):
    """(Trainer, message) continuing the checkpoint ``source`` (a run directory or a file)."""
    from agents.training_loop import Trainer, default_run_dir, resume_config

    checkpoint = load_checkpoint(source)
    home = home_run_dir(source)
    target = Path(values.pop("run_dir")) if values.get("run_dir") else home
    values.pop("run_dir", None)
    cfg = resume_config(checkpoint, values)
    target = target or default_run_dir(cfg)
    if home is None or target.resolve() != home.resolve():
        refuse_other_run(target, "choose a new or empty --run_dir to continue this checkpoint in")
    cfg.run_dir = str(check_output_dir(target, "run directory"))
    trainer = Trainer(cfg, target, checkpoint=checkpoint)
    into = "" if target == home else f" into {target}"
    return trainer, f"resuming {source}{into} at step {trainer.step:,}"


def home_run_dir(source: Path) -> Path | None:
    """The run directory a checkpoint belongs to: ``source`` itself (a directory), ``RUN`` for
    ``RUN/checkpoint.pt`` or ``RUN/checkpoints/step_*.pt``; None for any other (loose) file."""
    if source.is_dir():
        return source
    if source.name == "checkpoint.pt":
        return source.parent
    if source.parent.name == "checkpoints" and source.match("step_*.pt"):
        return source.parent.parent
    return None


def refuse_other_run(run_dir: Path, advice: str) -> None:
    """ConfigError if ``run_dir`` holds files of a run (see RUN_FILES), saying what to do."""
    found = sorted({p.name for pattern in RUN_FILES for p in run_dir.glob(pattern)})
    if run_dir.is_dir() and found:
        shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
        raise ConfigError(f"run directory {str(run_dir)!r} already holds a run ({shown}); {advice}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        config_parser("python -m agents.train", __doc__, FILE_FLAGS).print_help()
        return 0
    from agents.mvp import format_criteria
    from teachers.cache import CacheMiss
    from teachers.llm import ParentError

    try:
        trainer, message = build(argv)
        import torch.utils.tensorboard  # noqa: F401  (train()'s writer) while collection is paused
    except (ConfigError, CheckpointError, ParentError, ValueError, TypeError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        if PAUSED_COLLECTION:
            gc.enable()
            gc.freeze()  # start-up's objects stay for the whole run: later collections skip them
    from agents.model import parameter_count
    from agents.training_loop import TrainingDiverged

    cfg = trainer.cfg
    print(
        f"{message}: {cfg.env_id} ({cfg.num_envs} envs), {cfg.algorithm}, "
        f"{parameter_count(trainer.model):,} parameters, {cfg.max_steps:,} steps",
        flush=True,
    )
    try:
        summary = trainer.train()
    except (CheckpointError, TrainingDiverged, ParentError, CacheMiss, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not summary["finished"]:
        print(
            f"stopped at step {summary['steps']:,} ({trainer.stop_reason}); continue with: "
            f"python -m agents.train --resume {trainer.run_dir}"
        )
    print(format_criteria(summary))
    if trainer.stop_signal == signal.SIGTERM:
        return 128 + signal.SIGTERM  # 143: what schedulers expect of a job ended by SIGTERM
    if not summary["finished"] and trainer.stop_signal is None:
        print(f"error: {trainer.stop_reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
