"""``python -m benchmarks.merge OUT DIR [DIR ...]``: one results directory from sweeps of one
suite run in pieces (by level, agent or seed; on several machines or days), for
``benchmarks.report``.

    python -m benchmarks.run --suite worlds --out runs/w_l3 --levels 3
    python -m benchmarks.run --suite worlds --out runs/w_seeds34 --seeds 3 4
    python -m benchmarks.merge runs/worlds runs/w_l3 runs/w_seeds34
    python -m benchmarks.report runs/worlds

A piece may also be a published results file, ``benchmarks/results/SUITE.csv``, whose commands
``benchmarks.report --results_md`` keeps beside it in ``SUITE.json``: new runs are added to the
published ones by ``python -m benchmarks.merge runs/worlds benchmarks/results/worlds.csv
runs/w_more``.

A row is kept when its run finished (``status`` ok) and its settings are the suite file's
current ones (its ``cell_hash``): a row of a cell whose settings changed since, or that left the
suite, is dropped and named. Where several directories hold the same cell, the later one's row
wins (a re-run replaces). ``OUT/suite.json`` lists each directory's command, so the report says
how every row was produced.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.results_csv import read_rows, write_rows
from benchmarks.suite import Suite, SuiteError, cells, load_suite
from wmil_envs.files import atomic_write_text


def merge(out: str | os.PathLike, dirs: list[str | os.PathLike],
          suite_file: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Write ``out/results.csv`` and ``out/suite.json`` from ``dirs``, checked against the suite
    named in their rows (or ``suite_file``); returns what was kept and dropped (``rows``,
    ``stale``, ``failed``, ``replaced``: lists of cell ids)."""
    out, dirs = Path(out), [Path(d) for d in dirs]
    found = {d: read_rows(d) for d in dirs}
    for d, rows in found.items():
        if not rows:
            where = d if d.suffix == ".csv" else d / "results.csv"
            raise SystemExit(f"error: no results in {d} (expected {where})")
    suites = {r["suite"] for rows in found.values() for r in rows}
    if len(suites) != 1:
        raise SystemExit(f"error: the directories hold rows of several suites: {sorted(suites)}")
    metas = [_meta(d) for d in dirs]
    suite_name = suites.pop()
    suite = _suite(suite_name, metas, suite_file)
    grid = cells(suite)
    current = {c["cell_id"]: c["cell_hash"] for c in grid}
    order = {c["cell_id"]: i for i, c in enumerate(grid)}
    kept: dict[str, dict[str, str]] = {}
    stale, failed, replaced = [], [], []
    for rows in found.values():
        for row in rows:
            cell = row["cell_id"]
            if row["status"] != "ok":
                failed.append(cell)
            elif current.get(cell) != row["cell_hash"]:
                stale.append(cell)
            else:
                if cell in kept:
                    replaced.append(cell)
                kept[cell] = row
    merged = sorted(kept.values(), key=lambda r: order[r["cell_id"]])
    out.mkdir(parents=True, exist_ok=True)
    write_rows(out / "results.csv", merged)
    commands = [c for m, d in zip(metas, dirs, strict=True) for c in _commands(m, d)]
    meta = {
        "suite": suite_name,
        "suite_file": suite.path,
        "backend": _joined(m.get("backend") for m in metas),
        "workers": _joined(m.get("workers") for m in metas),
        "cells": len(merged),
        "started": min((m["started"] for m in metas if m.get("started")), default=None),
        "commands": commands,
        "cores": _joined(m.get("cores") for m in metas),
    }
    atomic_write_text(out / "suite.json", json.dumps(meta, indent=2))
    return {"rows": [r["cell_id"] for r in merged], "stale": stale, "failed": failed,
            "replaced": replaced}  # fmt: skip


def _suite(name: str, metas: list[dict[str, Any]], given: str | None) -> Suite:
    """The suite as it is now: ``given``, else the built-in of that name, else the file the
    sweeps recorded."""
    candidates = [given] if given else [name, *(m.get("suite_file") for m in metas)]
    for candidate in filter(None, candidates):
        try:
            return load_suite(candidate)
        except SuiteError:
            continue
    raise SystemExit(f"error: suite {given or name!r} not found; pass --suite PATH")


def _meta(d: Path) -> dict[str, Any]:
    """A results directory's ``suite.json``, or a published ``SUITE.csv``'s ``SUITE.json``."""
    path = d.with_suffix(".json") if d.suffix == ".csv" else d / "suite.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _commands(meta: dict[str, Any], d: Path) -> list[str]:
    """The commands that produced ``d``'s rows (a merged directory has several)."""
    if meta.get("commands"):
        return list(meta["commands"])
    return [meta.get("command") or f"(rows of {d}; no command recorded)"]


def _joined(values) -> Any:
    """One value where all directories agree, else the distinct values joined by '/'."""
    distinct = sorted({str(v) for v in values if v is not None})
    if len(distinct) == 1:
        return distinct[0]
    return "/".join(distinct) or None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.merge",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("out", help="the merged results directory (results.csv, suite.json)")
    p.add_argument(
        "dirs",
        nargs="+",
        help="results directories of one suite (or published "
        "results/SUITE.csv files); later ones win",
    )
    p.add_argument("--suite", help="the suite file to check the rows against (default: the "
                   "built-in suite named in the rows)")  # fmt: skip
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result = merge(args.out, args.dirs, args.suite)
    dropped = {
        "stale": "settings changed since, or no longer in the suite",
        "failed": "status not ok",
        "replaced": "by a later directory's row",
    }
    for kind, why in dropped.items():
        if result[kind]:
            print(f"{kind} ({why}): {', '.join(sorted(set(result[kind])))}")
    print(f"wrote {len(result['rows'])} rows to {Path(args.out) / 'results.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
