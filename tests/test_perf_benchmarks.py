"""The env-throughput yardstick (Gymnasium's CartPole in rounds with each id's 4096-env run) and the
time-to-solve benchmark: what they record, on tiny budgets (speed targets live in the
benchmarks themselves, not here)."""

import importlib.util
import json
import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks import machine, throughput, time_to_solve, train_throughput


def test_throughput_times_cartpole_in_rounds_with_the_4096_env_run(capsys, tmp_path):
    out = tmp_path / "tp.json"
    throughput.main(["--seconds", "0.01", "--ids", "WMIL/PatternEcho-v0", "--json", str(out)])
    data = json.loads(out.read_text())
    rows = data["rows"]
    assert data["meta"]["cpu"] == machine.cpu_model()  # published files say which CPU
    largest = [r for r in rows if r["num_envs"] == throughput.REFERENCE_SIZE]
    assert len(largest) == 1 and largest[0]["reference_steps_per_second"] > 0
    assert largest[0]["ratio_to_reference"] > 0  # the median of the paired rounds' ratios
    assert all("reference_steps_per_second" not in r for r in rows if r not in largest)
    printed = capsys.readouterr().out
    ratio = throughput.ratio_to_reference(largest[0])
    assert f"native at 4096 envs / CartPole-v1: PatternEcho-v0 {ratio:.2f}x" in printed


def test_cpu_model_reads_cpuinfo_and_falls_back(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: X\nmodel name\t: Example CPU 9000\n")
    assert machine.cpu_model(cpuinfo) == "Example CPU 9000"
    cpuinfo.write_text("processor\t: 0\nmodel name\t:\n")  # blank, as some VMs report it
    assert machine.cpu_model(cpuinfo) == machine.cpu_model(tmp_path / "missing") != ""


def test_a_run_that_never_solved_counts_as_infinitely_slow():
    rows = [{"seconds_to_solve": s} for s in (2.0, None, 3.0)]
    assert time_to_solve.median_seconds(rows) == 3.0
    assert time_to_solve.median_seconds(rows[1:2]) == math.inf


def test_ours_is_timed_from_process_start(tmp_path):
    out = tmp_path / "tts.json"
    time_to_solve.main(["--seeds", "1", "--target", "0.2", "--no_sb3", "--json", str(out)])
    data = json.loads(out.read_text())
    (row,) = data["rows"]
    assert row["agent"] == "ours" and row["steps_to_solve"] % 500 == 0  # an evaluation's step
    assert 0 < row["seconds_to_solve"] < row["seconds_to_exit"]
    assert data["meta"]["cpu"] == machine.cpu_model()
    (floor,) = data["import_torch_seconds"]  # a process that only imports torch, per seed
    assert isinstance(floor, float) and floor > 0  # two processes' times: no order between them


@pytest.mark.slow
def test_ours_solves_the_mvp_task(tmp_path):
    out = tmp_path / "tts.json"
    time_to_solve.main(["--seeds", "1", "--no_sb3", "--json", str(out)])
    (row,) = json.loads(out.read_text())["rows"]
    assert row["steps_to_solve"] is not None and row["steps_to_solve"] <= 10_000


def _trainer(num_envs, **keys):
    import os

    from agents.training_loop import Trainer

    args = train_throughput.parser().parse_args(
        ["--num_envs", str(num_envs), "--rollout_steps", "4", "--hidden_dim", "16"]
        + ["--update_epochs", "1", "--num_minibatches", "1"]  # the counter is slow per op
    )
    return Trainer(train_throughput._config(args, vq_head=False, **keys), run_dir=os.devnull)


def test_flops_are_counted_per_env_step():
    small = train_throughput.counted_flops_per_step(_trainer(8, world_model_head=False))
    large = train_throughput.counted_flops_per_step(_trainer(32, world_model_head=False))
    with_wm = train_throughput.counted_flops_per_step(_trainer(8, world_model_head=True))
    assert small > 0 and large == pytest.approx(small, rel=1e-6)  # per step, whatever the batch
    assert with_wm > 1.2 * small  # the world-model head's matmuls are counted


def test_the_recorded_matmuls_replay_with_the_counted_flops_and_their_operands_layouts():
    trainer = _trainer(8, world_model_head=True)
    calls: list = []
    per_step = train_throughput.counted_flops_per_step(trainer, calls)
    run, flops = train_throughput.replay(calls)
    assert len(calls) > 10 and flops == pytest.approx(per_step * trainer.cfg.steps_per_update)
    run()  # the replayed kernels accept the recorded shapes and strides
    operands = [a for _, args, _ in calls for a in args if isinstance(a, train_throughput.Operand)]
    assert any(a.stride[-1] != 1 for a in operands)  # a weight read as its transpose
    assert train_throughput.counted_flops_per_step(trainer) == per_step  # no list: no record


def test_the_matmuls_alone_are_timed_against_the_limit_in_rounds():
    x, w = torch.randn(32, 16), torch.randn(8, 16)
    calls: list = []
    with FlopCounterMode(display=False) as counter, train_throughput.MatmulRecorder(counter, calls):
        torch.nn.functional.linear(x, w)
    ((op, args, _),) = calls
    assert op == torch.ops.aten.mm.default and [a.shape for a in args] == [(32, 16), (16, 8)]
    assert 0 < train_throughput.matmul_ceiling(calls, 64, "cpu", seconds=0.001, rounds=3)


TINY_RUN = ["--num_envs", "4", "--rollout_steps", "4", "--hidden_dim", "16", "--update_epochs", "1"]
TINY_RUN += ["--num_minibatches", "1", "--matmul_size", "64", "--ceiling_seconds", "0.001"]


def test_share_of_the_limit_is_reported(tmp_path):
    pytest.importorskip("stable_baselines3")
    out = tmp_path / "tt.json"
    train_throughput.main(["--steps", "64", *TINY_RUN, "--json", str(out)])
    data = json.loads(out.read_text())
    assert data["matmul_gflops"] > 0
    ours = [r for r in data["rows"] if r["agent"].startswith("ours")]
    assert len(ours) == 3
    for row in ours:
        share = row["steps_per_second"] * row["flops_per_step"] / (data["matmul_gflops"] * 1e9)
        assert row["share_of_limit"] == pytest.approx(share) and row["share_of_limit"] > 0
        assert row["matmuls_alone_share"] > 0


def test_throughput_without_sb3_installed_reports_our_rows(tmp_path, monkeypatch, capsys):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec",
        lambda name, *a: None if name == "stable_baselines3" else real_find_spec(name, *a),
    )  # fmt: skip
    out = tmp_path / "tt.json"
    assert train_throughput.main(["--steps", "16", *TINY_RUN, "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["ratio"] is None and len(data["rows"]) == 3
    assert data["cpu"] == machine.cpu_model() and data["cpu_capability"]
    assert "stable_baselines3 is not installed" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present here")
def test_throughput_on_an_unavailable_gpu_is_a_clear_error(capsys):
    assert train_throughput.main(["--device", "cuda", "--steps", "64"]) == 2
    assert "no usable CUDA GPU" in capsys.readouterr().err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_throughput_on_a_gpu_times_our_rows_without_sb3(tmp_path):
    out = tmp_path / "tt.json"
    train_throughput.main(["--device", "cuda", "--steps", "256", *TINY_RUN, "--json", str(out)])
    data = json.loads(out.read_text())
    assert data["ratio"] is None and data["matmul_gflops"] > 0
    assert [r["agent"].startswith("ours") for r in data["rows"]] == [True] * 3
    assert all(r["share_of_limit"] > 0 for r in data["rows"])
