"""The results CSV: one row per run, rewritten atomically (temp file, then rename) as runs
finish, so an interrupted sweep loses nothing and ``--resume`` skips the finished runs."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from benchmarks.cell import COLUMNS
from wmil_envs.files import atomic_write_text

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
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(COLUMNS), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in COLUMNS})
    atomic_write_text(path, text.getvalue())
