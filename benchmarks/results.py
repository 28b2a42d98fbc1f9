"""The results CSV: one row per run, rewritten atomically (temp file, then rename) as runs
finish, so an interrupted sweep loses nothing and ``--resume`` skips the finished runs."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.runner import COLUMNS

RESULTS_NAME = "results.csv"


def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_NAME
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return [row for row in csv.DictReader(fh) if row.get("cell_id")]


def write_rows(path: str | os.PathLike, rows: list[dict[str, Any]]) -> None:
    """All rows, in grid order, to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: row.get(k, "") for k in COLUMNS})
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
