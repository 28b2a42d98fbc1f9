"""``python -m benchmarks.run``: run a benchmark suite's grid of (env, level, agent, seed).

    python -m benchmarks.run --suite smoke --out runs/bench_smoke            # CI size
    python -m benchmarks.run --suite default --out runs/bench --workers 2 --resume
    python -m benchmarks.run --suite default --out runs/bench --backend ray [--address HOST:PORT]
    python -m benchmarks.report runs/bench                                   # report.md + plots

The grid comes from ``configs/suite_NAME.yaml`` (see ``benchmarks.suite``). Each finished run
is one row of ``OUT/results.csv``, rewritten atomically as runs finish: an interrupted sweep
loses nothing, and ``--resume`` skips runs already there (same cell and settings, status ok).
Backends: ``process`` (default: a local process pool of ``--workers``, with a progress bar) and
``ray`` (one Ray task per cell, one CPU each, on a local Ray instance or on the cluster at
``--address``; the ``ray`` extra). Both give the same rows for the same suite; only the timing
columns differ (``benchmarks.cell.TIMING_COLUMNS``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.cell import run_cell
from benchmarks.results_csv import RESULTS_NAME, read_rows, write_rows
from benchmarks.suite import SuiteError, available_suites, cells, load_suite
from wmil_envs.files import atomic_write_text

REPO_ROOT = Path(__file__).resolve().parent.parent


def pending_cells(grid: list[dict], done_rows: list[dict], resume: bool) -> list[dict]:
    if not resume:
        return list(grid)
    done = {(r["cell_id"], r["cell_hash"]) for r in done_rows if r.get("status") == "ok"}
    return [c for c in grid if (c["cell_id"], c["cell_hash"]) not in done]


def _process_backend(todo: list[dict], workers: int, on_row) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    if workers <= 1:
        for cell in todo:
            on_row(run_cell(cell))
        return
    # spawn: no fork of a process that may hold torch threads; each worker imports once
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(run_cell, cell) for cell in todo]
        try:
            for future in as_completed(futures):
                on_row(future.result())
        except BaseException:  # Ctrl-C: drop the queued runs; finished rows are already saved
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _ray_backend(todo: list[dict], workers: int, address: str | None, on_row) -> None:
    try:
        import ray
    except ImportError:
        raise SystemExit(
            "error: --backend ray needs Ray: pip install 'wmil[ray]' (or pip install ray)"
        ) from None
    pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    init: dict[str, Any] = {
        "runtime_env": {"env_vars": {"PYTHONPATH": pythonpath, "OMP_NUM_THREADS": "1"}},
        "log_to_driver": False,
        "include_dashboard": False,
    }
    if address:
        init["address"] = address
    else:
        init["num_cpus"] = workers
        # Ray starts its workers at nice 15, so on a busy machine they get a sliver of the CPU
        # (here: 100 s of wall time for 2 s of CPU); a local sweep runs them at normal priority
        os.environ.setdefault("RAY_worker_niceness", "0")
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(**init)
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(run_cell)
        refs = [task.remote(cell) for cell in todo]
        while refs:
            ready, refs = ray.wait(refs, num_returns=1)
            on_row(ray.get(ready[0]))
    finally:
        if started_here:
            ray.shutdown()


def run_suite(
    suite_name: str,
    out: str | os.PathLike,
    backend: str = "process",
    workers: int | None = None,
    resume: bool = False,
    address: str | None = None,
    progress: bool = True,
    only: dict[str, list[str]] | None = None,
) -> Path:
    """Run the suite into ``out/results.csv``; returns its path."""
    suite = load_suite(suite_name)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULTS_NAME
    grid = cells(suite)
    for key, allowed in (only or {}).items():
        if allowed:
            grid = [c for c in grid if str(c[key]) in allowed]
    old = read_rows(path)
    if old and not resume:
        raise SystemExit(
            f"error: {path} already holds {len(old)} rows; use --resume to continue that sweep "
            "or choose another --out"
        )
    todo = pending_cells(grid, old, resume)
    order = {c["cell_id"]: i for i, c in enumerate(cells(suite))}
    # seed-major: a sweep stopped early has fewer seeds of every cell, not missing envs
    todo.sort(key=lambda c: (c["seed"], order[c["cell_id"]]))
    keep = {(c["cell_id"], c["cell_hash"]) for c in grid} - {
        (c["cell_id"], c["cell_hash"]) for c in todo
    }
    # finished rows outside this run's filters (--tasks, --levels...) stay as they are
    whole = {(c["cell_id"], c["cell_hash"]) for c in cells(suite)}
    selected = {c["cell_id"] for c in grid}
    keep |= {(r["cell_id"], r["cell_hash"]) for r in old if r["cell_id"] not in selected} & whole
    rows = {r["cell_id"]: r for r in old if (r["cell_id"], r["cell_hash"]) in keep}
    workers = workers or min(2, os.cpu_count() or 1)
    meta = {
        "suite": suite.name,
        "suite_file": suite.path,
        "backend": backend,
        "workers": workers,
        "cells": len(grid),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:])
        if Path(sys.argv[0]).stem in ("run", "__main__")
        else None,
    }
    atomic_write_text(out / "suite.json", json.dumps({**meta, "cores": os.cpu_count()}, indent=2))
    write_rows(path, sorted(rows.values(), key=lambda r: order.get(r["cell_id"], 0)))
    print(
        f"{suite.name}: {len(grid)} runs, {len(grid) - len(todo)} already done, "
        f"{len(todo)} to run ({backend} backend) -> {path}",
        flush=True,
    )
    from tqdm import tqdm

    bar = tqdm(total=len(todo), unit="run", disable=not progress, dynamic_ncols=True)
    errors = []

    def on_row(row: dict[str, Any]) -> None:
        rows[row["cell_id"]] = row
        write_rows(path, sorted(rows.values(), key=lambda r: order.get(r["cell_id"], 0)))
        if row["status"] != "ok":
            errors.append(row)
            tqdm.write(f"{row['cell_id']}: {row['error'][:300]}")
        bar.set_postfix_str(row["cell_id"], refresh=False)
        bar.update(1)

    try:
        if backend == "ray":
            _ray_backend(todo, workers, address, on_row)
        else:
            _process_backend(todo, workers, on_row)
    finally:
        bar.close()
    if errors:
        print(f"{len(errors)} run(s) failed (status=error in {path}); --resume retries them")
    return path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--suite",
        required=True,
        help=f"suite name ({', '.join(available_suites())}) or a YAML path",
    )
    p.add_argument("--out", required=True, help="results directory (results.csv)")
    p.add_argument("--backend", choices=("process", "ray"), default="process")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel runs (default: min(2, cores)); 1 runs in this process",
    )
    p.add_argument("--address", help="--backend ray: an existing cluster (e.g. auto)")
    p.add_argument("--resume", action="store_true", help="skip runs already in results.csv")
    p.add_argument("--no_progress", "--no-progress", action="store_true", help="no progress bar")
    for key, flag in (("task", "tasks"), ("difficulty", "levels"), ("agent", "agents"),
                      ("seed", "seeds")):  # fmt: skip
        p.add_argument(f"--{flag}", nargs="*", default=None, dest=key, help=f"only these {flag}")
    return p


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    if args.address and args.backend != "ray":
        cli.error("--address is for --backend ray")
    if args.workers is not None and args.workers < 1:
        cli.error(f"--workers {args.workers} must be >= 1")
    try:
        run_suite(
            args.suite,
            args.out,
            args.backend,
            args.workers,
            args.resume,
            args.address,
            not args.no_progress,
            {key: getattr(args, key) for key in ("task", "difficulty", "agent", "seed")},
        )
    except SuiteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
