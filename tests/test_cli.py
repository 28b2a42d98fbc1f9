"""The command lines: one flag spelling (underscores; hyphens accepted), --help from docstrings."""

import subprocess
import sys
from pathlib import Path

import pytest

from agents import evaluate, train
from agents.cli import config_parser, field_docs, parse_flags
from agents.config import FIELD_NAMES, ConfigError
from teachers import generate


def test_train_flags_parse_alike_in_both_spellings():
    underscores = ["--num_envs", "4", "--max_steps=100", "--no_vq_head", "--curriculum",
                   "--curriculum_schedule", "0,2", "--config", "c.yaml"]  # fmt: skip
    hyphens = ["--num-envs", "4", "--max-steps=100", "--no-vq-head", "--curriculum",
               "--curriculum-schedule", "0,2", "--config", "c.yaml"]  # fmt: skip
    values, extra = parse_flags(underscores, train.FILE_FLAGS)
    assert (values, extra) == parse_flags(hyphens, train.FILE_FLAGS)
    assert values == {"num_envs": 4, "max_steps": 100, "vq_head": False, "curriculum": True,
                      "curriculum_schedule": [0, 2]}  # fmt: skip
    assert extra == {"config": "c.yaml"}


def test_evaluate_flags_parse_alike_in_both_spellings():
    parser = evaluate.build_parser()
    args = parser.parse_args(["--checkpoint", "runs/x", "--no_ema"])
    assert args == parser.parse_args(["--checkpoint", "runs/x", "--no-ema"])
    assert args.no_ema is True


def test_generate_flags_parse_alike_in_both_spellings():
    common = ["--task", "counting", "--count", "3", "--out", "o.jsonl"]
    underscores = ["--num_actions", "8", "--base_url", "http://h/v1", "--cache_dir", "c"]
    hyphens = ["--num-actions", "8", "--base-url", "http://h/v1", "--cache-dir", "c"]
    args = generate.parser().parse_args(common + underscores)
    assert args == generate.parser().parse_args(common + hyphens)
    assert (args.num_actions, args.base_url, args.cache_dir) == (8, "http://h/v1", "c")


def test_boolean_flag_forms():
    for argv, expected in [(["--curriculum"], True), (["--curriculum", "false"], False),
                           (["--curriculum=yes"], True), (["--no_curriculum"], False),
                           (["--no-curriculum"], False)]:  # fmt: skip
        assert parse_flags(argv)[0] == {"curriculum": expected}, argv


def test_flag_errors_name_the_flag():
    with pytest.raises(ConfigError, match=r"unknown flag '--hiden_dim' \(did you mean "
                       r"'--hidden_dim'\?\); valid flags are: --task"):  # fmt: skip
        parse_flags(["--hiden-dim", "32"])
    with pytest.raises(ConfigError, match="unexpected argument 'pattern_echo'"):
        parse_flags(["pattern_echo"])
    with pytest.raises(ConfigError, match="--num_envs: expected one argument"):
        parse_flags(["--num_envs"])
    with pytest.raises(ConfigError, match=r"num_envs='four' is not valid; expected an integer"):
        parse_flags(["--num-envs", "four"])


def test_every_config_field_has_a_docstring_in_a_section():
    docs = {name: doc for section in field_docs().values() for name, doc in section.items()}
    assert tuple(docs) == FIELD_NAMES
    assert [name for name, doc in docs.items() if not doc] == []
    assert list(field_docs())[:3] == ["environment", "run", "model"]


def test_the_parser_without_docs_parses_the_same_flags():
    def flags(parser):
        return sorted((a.option_strings[0], a.dest, a.nargs, a.const) for a in parser._actions)

    assert flags(config_parser(documented=False)) == flags(config_parser())


def test_train_help_shows_docstrings_defaults_and_sections(capsys):
    assert train.main(["--help"]) == 0
    out = capsys.readouterr().out
    text = " ".join(out.split())
    assert "Total environment steps (summed over the vector envs). (default: 10000)" in text
    assert "\nenvironment:\n" in out and "\nPPO:\n" in out and "--resume RESUME" in out
    assert "--num_envs INT" in out and "--curriculum [true|false]" in out


@pytest.mark.parametrize(
    "module, text",
    [
        (evaluate, "use the live weights, not the EMA copy"),
        (generate, "difficulty level (default: 0)"),
    ],
)
def test_argparse_help_shows_option_text(module, capsys, text):
    with pytest.raises(SystemExit) as info:
        module.main(["--help"])
    assert info.value.code == 0
    assert text in " ".join(capsys.readouterr().out.split())


STARTUP_PROBE = """
import gc, runpy, sys
seen = []  # per collection: (torch loaded, start-up's last import loaded)
gc.callbacks.append(lambda phase, info: phase == "start" and seen.append(
    ("torch" in sys.modules, "torch.utils.tensorboard" in sys.modules)))
sys.argv = ["agents.train", "--task", "pattern_echo", "--num_envs", "4", "--hidden_dim", "16",
            "--num_layers", "1", "--num_heads", "2", "--max_steps", "8", "--eval_every", "8",
            "--eval_episodes", "4", "--progress", "false", "--run_dir", sys.argv[1]]
try:
    runpy.run_module("agents.train", run_name="__main__")
except SystemExit as stop:
    print(stop.code, gc.isenabled(), gc.get_freeze_count() > 0,
          sum(torch and not writer for torch, writer in seen), sum(writer for _, writer in seen))
"""


def test_train_cli_collects_no_garbage_during_start_up(tmp_path):
    """``python -m agents.train`` pauses the collector while torch & co. import (~0.1 s of a
    cold start) and turns it back on, with start-up's objects frozen, before training."""
    out = subprocess.run(
        [sys.executable, "-c", STARTUP_PROBE, str(tmp_path / "run")],
        capture_output=True, text=True, check=True, timeout=120, cwd=Path(__file__).parents[1],
    )  # fmt: skip
    code, enabled, frozen, during_imports, after = out.stdout.split()[-5:]
    assert (code, enabled, frozen, during_imports) == ("0", "True", "True", "0")
    assert int(after) > 0  # the probe sees collections: training's own run as usual


def test_importing_agents_loads_no_torch():
    """``agents`` exports its names lazily, so that agents.train can pause collection first."""
    script = (
        "import sys, agents; print('torch' in sys.modules); "
        "print(agents.Config.__name__, agents.AgentModel.__name__, agents.ConfigError.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "Config", "AgentModel", "ConfigError"]
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        import agents

        agents.Nope  # noqa: B018
