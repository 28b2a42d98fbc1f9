"""Checkpoints: written atomically (:mod:`wmil_envs.files`), loaded with
``torch.load(weights_only=True)``, checked for the WMIL format so that a corrupt or foreign
file gives a clear error instead of a stack trace from deep inside pickle.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from wmil_envs.files import atomic_write_bytes, atomic_write_text  # noqa: F401  (re-exported)

FORMAT = "wmil-agent-checkpoint"
VERSION = 1
REQUIRED = ("config", "model", "step")


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, unreadable, corrupt or not a WMIL agent checkpoint."""


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    data = {"format": FORMAT, "version": VERSION, **payload}
    atomic_write_bytes(path, lambda fh: torch.save(data, fh))


def resolve_checkpoint_path(path: str | os.PathLike) -> Path:
    """A checkpoint file, or a run directory (its ``checkpoint.pt``)."""
    path = Path(path)
    if path.is_dir():
        candidate = path / "checkpoint.pt"
        if not candidate.exists():
            raise CheckpointError(
                f"run directory {str(path)!r} has no checkpoint.pt (was the run started with "
                "agents.train, and did it reach its first checkpoint?)"
            )
        return candidate
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint's contents, or CheckpointError saying what is wrong with the file."""
    path = resolve_checkpoint_path(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # corrupt zip, truncated file, foreign pickle, ...
        raise CheckpointError(
            f"cannot read checkpoint {str(path)!r}: the file is corrupt or was not written by "
            f"agents.train ({type(error).__name__}: {str(error).splitlines()[0][:200]})"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(
            f"{str(path)!r} is a PyTorch file but not a WMIL agent checkpoint "
            f"(expected format {FORMAT!r}; write checkpoints with agents.train)"
        )
    if data.get("version") != VERSION:
        raise CheckpointError(
            f"{str(path)!r} has checkpoint version {data.get('version')!r}; this code reads "
            f"version {VERSION}"
        )
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise CheckpointError(f"{str(path)!r} is incomplete: missing {', '.join(missing)}")
    return data
