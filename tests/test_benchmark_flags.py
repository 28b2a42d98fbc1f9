"""One flag spelling in the benchmark CLIs: the config key with underscores (``--num_envs``,
as in ``agents.train``), with the hyphen spelling (``--num-envs``) accepted as an alias."""

from __future__ import annotations

import argparse

import pytest

from benchmarks import numeric_table, report, run, throughput, time_to_solve, train_throughput
from wmil_envs import difficulty_tables

PARSERS = {
    "benchmarks.run": run.parser,
    "benchmarks.report": report.parser,
    "benchmarks.numeric_table": numeric_table.parser,
    "benchmarks.throughput": throughput.parser,
    "benchmarks.train_throughput": train_throughput.parser,
    "benchmarks.time_to_solve": time_to_solve.parser,
}

# (parser, the same command line in both spellings)
SAME = [
    (run.parser, "--suite smoke --out o --no_progress", "--suite smoke --out o --no-progress"),
    (
        report.parser,
        "dir --results_md R.md --train_throughput t.json",
        "dir --results-md R.md --train-throughput t.json",
    ),
    (
        numeric_table.parser,
        "run --train_flag=--max_steps=64 --train_flag=--seed=1 --seeds 4",
        "run --train-flag=--max_steps=64 --train-flag=--seed=1 --seeds 4",
    ),
    (
        train_throughput.parser,
        "--num_envs 8 --rollout_steps 4 --update_epochs 2 --num_minibatches 2 --hidden_dim 16 "
        "--num_layers 1",
        "--num-envs 8 --rollout-steps 4 --update-epochs 2 --num-minibatches 2 --hidden-dim 16 "
        "--num-layers 1",
    ),
]


def _options(parser: argparse.ArgumentParser):
    """Every option of ``parser`` and of its subcommands, as option-string lists."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _options(sub)
        elif action.option_strings:
            yield action.option_strings


@pytest.mark.parametrize("name", PARSERS)
def test_every_multi_word_flag_is_spelt_with_underscores_first_and_hyphens_too(name):
    for strings in _options(PARSERS[name]()):
        long = [s for s in strings if s.startswith("--")]
        words = long[0][2:]
        assert "-" not in words, f"{name}: {long[0]} should be spelt --{words.replace('-', '_')}"
        if "_" in words:
            assert f"--{words.replace('_', '-')}" in long, f"{name}: no hyphen alias of {long[0]}"


@pytest.mark.parametrize(("make", "underscores", "hyphens"), SAME)
def test_both_spellings_parse_alike(make, underscores, hyphens):
    a, b = make().parse_args(underscores.split()), make().parse_args(hyphens.split())
    assert a == b
    assert any(value not in (None, False, []) for value in vars(a).values())


def test_the_example_values_arrive():
    args = train_throughput.parser().parse_args(["--num-envs", "8", "--hidden_dim", "16"])
    assert (args.num_envs, args.hidden_dim, args.num_layers) == (8, 16, 2)
    args = numeric_table.parser().parse_args(["run", "--train-flag=--max_steps=64"])
    assert args.train_flag == ["--max_steps=64"]
    assert run.parser().parse_args(["--suite", "s", "--out", "o", "--no-progress"]).no_progress


CLIS = (run, report, numeric_table, throughput, train_throughput, time_to_solve, difficulty_tables)


@pytest.mark.parametrize("main", [cli.main for cli in CLIS])
def test_help_exits_cleanly(main, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "usage: python -m " in capsys.readouterr().out
