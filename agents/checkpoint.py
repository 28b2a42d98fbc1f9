"""Checkpoints: written atomically (:mod:`wmil_envs.files`), loaded with
``torch.load(weights_only=True)``, checked for the WMIL format and against the SHA-256 checksum
of their payload, so that a corrupt, truncated, empty or foreign file gives a clear error
instead of a stack trace from deep inside pickle, and bytes flipped inside a tensor never
resume silently. A save that fails (full disk) says so and leaves the previous file valid.

A training checkpoint (``trainer_payload``) holds everything a resumed run needs to continue
exactly: the config, the model, the algorithm's state, progress and history, and every random
generator (torch's, numpy's global one and the env's; ``capture_rng`` / ``restore_rng``).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wmil_envs.files import atomic_write_bytes, atomic_write_text  # noqa: F401  (re-exported)

FORMAT = "wmil-agent-checkpoint"
VERSION = 3
"""3: a ``"checksum"`` of the payload; 2: an algorithm's optimiser state is under
``"optimizer"`` (version 1: ``"step"``). Versions 1 and 2 load without a checksum check."""
REQUIRED = ("config", "model", "step")


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, unreadable, corrupt or not a WMIL agent checkpoint."""


def payload_checksum(data: dict[str, Any]) -> str:
    """SHA-256 of everything in ``data`` but its ``"checksum"``: tensors by dtype, shape and
    bytes, other values by type and repr, dict keys in sorted order."""
    digest = hashlib.sha256()

    def feed(value: Any) -> None:
        if isinstance(value, torch.Tensor):
            flat = value.detach().cpu().contiguous().reshape(-1)
            digest.update(f"T{value.dtype}{tuple(value.shape)}".encode())
            digest.update(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
        elif isinstance(value, dict):
            digest.update(f"D{len(value)}".encode())
            for key in sorted(value, key=repr):
                feed(key)
                feed(value[key])
        elif isinstance(value, (list, tuple)):
            digest.update(f"L{len(value)}".encode())
            for item in value:
                feed(item)
        else:
            digest.update(f"{type(value).__name__}:{value!r};".encode())

    feed({k: v for k, v in data.items() if k != "checksum"})
    return digest.hexdigest()


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """Write ``payload`` with its checksum, atomically; temp files left by a save that was
    killed are removed first. A failed write is a CheckpointError saying why (e.g. the disk is
    full), and the previous file at ``path`` stays as it was."""
    path = Path(path)
    data = {"format": FORMAT, "version": VERSION, **payload}
    data["checksum"] = payload_checksum(data)
    if path.parent.is_dir():
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            stale.unlink(missing_ok=True)
    try:
        atomic_write_bytes(path, lambda fh: torch.save(data, fh))
    except (OSError, RuntimeError) as error:
        raise CheckpointError(_save_failure(path, error)) from None


def _save_failure(path: Path, error: Exception) -> str:
    """Why a checkpoint could not be written, and what to do."""
    text = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    full = getattr(error, "errno", None) == errno.ENOSPC or "No space" in str(error)
    if full or (free is not None and free < 64 * 2**20):
        where = f" ({free / 2**20:.0f} MiB free)" if free is not None else ""
        reason = f"the disk is full{where}; free some space"
    else:
        reason = f"{type(error).__name__}: {text}; check that the directory is writable"
    kept = " (the previous checkpoint there is unchanged)" if path.exists() else ""
    return f"cannot write checkpoint {str(path)!r}: {reason}{kept}"


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
    """The checkpoint's contents (and ``"path"``, the file read), or CheckpointError saying
    what is wrong with the file."""
    path = resolve_checkpoint_path(path)
    if path.stat().st_size == 0:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is empty (0 bytes): the file is corrupt; resume from "
            "an older one under checkpoints/"
        )
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # corrupt zip, truncated file, foreign pickle, ...
        detail = (str(error).splitlines() or [""])[0][:200]
        raise CheckpointError(
            f"cannot read checkpoint {str(path)!r}: the file is corrupt or was not written by "
            f"agents.train ({type(error).__name__}: {detail})"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(
            f"{str(path)!r} is a PyTorch file but not a WMIL agent checkpoint "
            f"(expected format {FORMAT!r}; write checkpoints with agents.train)"
        )
    if data.get("version") not in (1, 2, VERSION):
        raise CheckpointError(
            f"{str(path)!r} has checkpoint version {data.get('version')!r}; this code reads "
            f"versions 1 to {VERSION}"
        )
    if data["version"] >= 3 and data.get("checksum") != payload_checksum(data):
        raise CheckpointError(
            f"checkpoint {str(path)!r} fails its checksum: its contents changed after it was "
            "written (disk or copy corruption); resume from an older one under checkpoints/"
        )
    if data["version"] == 1 and "step" in data.get("algorithm", {}):
        data["algorithm"]["optimizer"] = data["algorithm"].pop("step")
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise CheckpointError(f"{str(path)!r} is incomplete: missing {', '.join(missing)}")
    data["path"] = str(path)  # where it was read from, for the messages of later checks
    return data


def model_weights(checkpoint: dict[str, Any], use_ema: bool = True) -> dict[str, torch.Tensor]:
    """The weights to evaluate: the EMA copy when the run kept one (and ``use_ema``), else the
    live ones."""
    ema = (checkpoint.get("algorithm", {}).get("optimizer") or {}).get("ema")
    return ema if use_ema and ema is not None else checkpoint["model"]


# ------------------------------------------------------------------------ the trainer's state


def trainer_payload(trainer) -> dict[str, Any]:
    """Everything ``restore_trainer`` needs to continue ``trainer`` exactly."""
    wall, cpu = trainer.clocks()
    curriculum = trainer.curriculum
    return {
        "config": trainer.cfg.to_dict(),
        "model": trainer.model.state_dict(),
        "algorithm": trainer.algo.state_dict(),
        "step": trainer.step,
        "updates": trainer.updates,
        "level": trainer.level,
        "rng": capture_rng(trainer.envs),
        "window": list(trainer.window),
        "history": trainer.history,
        "greedy_evals": trainer.greedy_evals,
        "elapsed": wall,
        "cpu_seconds": cpu,
        "curriculum": curriculum.state_dict() if curriculum is not None else None,
        "level_times": trainer.level_times,
    }


def nonfinite_weights(weights: dict[str, torch.Tensor]) -> list[str]:
    """The names of the floating-point tensors in ``weights`` holding NaN or inf."""
    return [
        name
        for name, value in weights.items()
        if torch.is_tensor(value) and value.is_floating_point() and not value.isfinite().all()
    ]


def restore_trainer(trainer, ck: dict[str, Any]) -> None:
    """Put a freshly built ``trainer`` (same config) in the state ``ck`` was saved in; a
    checkpoint that does not fit (missing keys, weights of another shape, a bad random
    generator state, NaN weights) is a CheckpointError naming the file and the problem."""
    from agents.config import ConfigError

    path = ck.get("path", "checkpoint")
    bad = nonfinite_weights(ck["model"]) if isinstance(ck.get("model"), dict) else []
    if bad:
        raise CheckpointError(
            f"checkpoint {str(path)!r} holds NaN or infinite weights ({', '.join(bad[:3])}); "
            "resume from an older one under checkpoints/"
        )
    try:
        _restore(trainer, ck)
    except ConfigError:
        raise
    except KeyError as error:
        raise CheckpointError(
            f"checkpoint {str(path)!r} cannot be resumed: it lacks the key {error}"
        ) from None
    except (RuntimeError, ValueError, TypeError, IndexError, AttributeError) as error:
        detail = (str(error).splitlines() or [""])[0][:200]
        raise CheckpointError(
            f"checkpoint {str(path)!r} cannot be resumed: it does not fit its config "
            f"({type(error).__name__}: {detail})"
        ) from None


def _restore(trainer, ck: dict[str, Any]) -> None:
    trainer.model.load_state_dict(ck["model"])
    trainer.algo.load_state_dict(ck["algorithm"])
    trainer.step, trainer.updates = int(ck["step"]), int(ck["updates"])
    restore_rng(ck["rng"], trainer.envs, trainer.cfg.seed)
    if trainer.curriculum is not None:
        if not ck.get("curriculum"):
            from agents.config import ConfigError

            raise ConfigError(
                "this checkpoint has no curriculum state (written before the trainer used "
                "wmil_envs' CurriculumManager); it cannot be resumed exactly with curriculum on"
            )
        trainer.envs.load_state_dict(ck["curriculum"])  # also sets the env's level
        trainer.level_times = [dict(t) for t in ck.get("level_times", [])]
    else:
        trainer.envs.set_attr("difficulty", int(ck["level"]))
    trainer.window.extend(ck["window"])
    trainer.history = {k: list(v) for k, v in ck["history"].items()}
    trainer.greedy_evals = list(ck["greedy_evals"])
    trainer.elapsed = float(ck["elapsed"])
    trainer.cpu_seconds = float(ck.get("cpu_seconds", 0.0))


# ------------------------------------------------------------------------ random generators


def capture_rng(envs) -> dict[str, Any]:
    """The state of torch's and numpy's global generators and of the vector env's."""
    return {
        "torch": torch.get_rng_state(),
        "env": envs.np_random.bit_generator.state,
        "numpy": _numpy_global_state(),
    }


def restore_rng(state: dict[str, Any], envs, seed: int) -> None:
    """Undo ``capture_rng``; ``envs`` is first reset with ``seed`` to build its state."""
    torch.set_rng_state(state["torch"])
    envs.reset(seed=seed)  # builds the env's state; the generator follows
    envs.np_random.bit_generator.state = state["env"]
    np.random.set_state(_numpy_from_state(state["numpy"]))


def _numpy_global_state() -> dict[str, Any]:
    """numpy's global generator state as tensors and numbers (``weights_only`` loads them)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": torch.as_tensor(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}  # fmt: skip


def _numpy_from_state(state: dict[str, Any]):
    keys = state["keys"].numpy().astype(np.uint32)
    return (state["name"], keys, state["pos"], state["has_gauss"], state["cached"])
