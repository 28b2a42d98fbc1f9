"""Writing files safely, for every package of the project.

- :func:`atomic_write_bytes` / :func:`atomic_write_text`: write a temp file in the target's
  directory, flush it to disk, then rename it into place (``os.replace``), so a reader never
  sees half a file and a crash never leaves one; several processes may write the same path.
- :func:`check_output_dir` / :func:`check_output_file`: make sure a place can be written
  before long work starts (a path that is a file, a directory or unwritable is an
  :class:`OutputPathError` naming it), so that nothing is computed and then lost.
- :func:`replace_section` / :func:`write_section`: regenerate the part of a hand-written file
  (``docs/curriculum.md``, ``benchmarks/RESULTS.md``) between two marker lines, keeping the rest.

It lives in ``wmil_envs``, the base package, because ``agents``, ``teachers`` and
``benchmarks`` all write files and all may import ``wmil_envs``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_write_bytes(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file)`` on a temp file in the target's directory, then rename it into place.

    The directory is created if needed; on any error the temp file is removed and the target
    is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class OutputPathError(ValueError):
    """A place to write to that is not a writable directory (or file); the message names it."""


def check_output_dir(path: str | os.PathLike, what: str = "directory") -> Path:
    """Create ``path`` if needed and check that a file can be created in it; ``what`` names
    it in the error (e.g. ``"run directory"``)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputPathError(
            f"{what} {str(path)!r} is a file, not a directory; choose another path"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".wmil-write-check.", suffix=".tmp", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise OutputPathError(
            f"cannot write to {what} {str(path)!r} ({error.strerror or error}); choose a "
            "writable directory with free space"
        ) from None
    return path


def check_output_file(path: str | os.PathLike, what: str = "output file") -> Path:
    """Check that the file ``path`` can be written (atomically): it is not a directory and
    its directory is writable."""
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(
            f"{what} {str(path)!r} is a directory; give a file path such as "
            f"{str(path / 'out.json')!r}"
        )
    check_output_dir(path.parent, f"{what}'s directory")
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` as UTF-8 to ``path`` atomically."""
    atomic_write_bytes(path, lambda fh: fh.write(text.encode("utf-8")))


def replace_section(text: str, begin: str, end: str, body: str) -> str:
    """``text`` with everything between the marker lines ``begin`` and ``end`` replaced by
    ``body`` (the markers stay; ``body`` is given a final newline if it lacks one).

    A text with neither marker gets the section appended after a blank line; a text with only
    one of them, or with ``end`` before ``begin``, is a ValueError (a hand edit broke it, and
    guessing could delete what the author wrote).
    """
    body = body if body.endswith("\n") else body + "\n"
    section = f"{begin}\n{body}{end}"
    start, stop = text.find(begin), text.find(end)
    if start < 0 and stop < 0:
        return (text.rstrip("\n") + "\n\n" if text.strip() else "") + section + "\n"
    if start < 0 or stop < start:
        raise ValueError(
            f"the markers {begin!r} and {end!r} must both stand in the file, in that order; "
            "fix the file by hand first"
        )
    return text[:start] + section + text[stop + len(end) :]


def write_section(
    path: str | os.PathLike, begin: str, end: str, body: str, default: str = ""
) -> bool:
    """Rewrite the section between ``begin`` and ``end`` in the file ``path`` (see
    :func:`replace_section`), atomically; a missing file starts as ``default``.

    Returns whether it wrote the file (a file already up to date is left alone).
    """
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else None
    new = replace_section(default if old is None else old, begin, end, body)
    if new == old:
        return False
    atomic_write_text(path, new)
    return True
