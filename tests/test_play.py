"""``python -m wmil_envs.play``: a person plays an env through a real (pseudo-)terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def read_until(fd: int, text: str, timeout: float = 30.0) -> str:
    """Terminal output up to and including ``text``."""
    out = ""
    deadline = time.monotonic() + timeout
    while text not in out:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in terminal output:\n{out}")
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            out += os.read(fd, 4096).decode()
    return out


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_play_in_a_terminal_with_the_oracle_and_feedback():
    main, child = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "wmil_envs.play", "WMIL/Conditional-v0", "difficulty=3", "seed=1"]
    proc = subprocess.Popen(cmd, stdin=child, stdout=child, stderr=child, env=env, close_fds=True)
    os.close(child)
    try:
        screen = read_until(main, "> ")
        assert "Q: Which action for" in screen
        os.write(main, b"?\n")
        oracle = read_until(main, "> ").split("oracle: ")[1].split()[0]
        os.write(main, f"{oracle}\n".encode())
        screen = read_until(main, "> ")
        assert f"you chose {oracle}" in screen and "correct, reward 1" in screen
        assert "episode over after 1 step(s): success, return 1" in screen
        os.write(main, b"?\n")
        oracle = int(read_until(main, "> ").split("oracle: ")[1].split()[0])
        wrong = (oracle + 1) % 16
        os.write(main, f"{wrong}\n".encode())
        assert "wrong, reward 0" in read_until(main, "> ")
        os.write(main, b"99\n")
        assert "not an action: '99'" in read_until(main, "> ")
        os.write(main, b"q\n")
        assert "bye: 2 episode(s) finished" in read_until(main, "finished")
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        os.close(main)


def test_play_rejects_an_unknown_id():
    result = subprocess.run(
        [sys.executable, "-m", "wmil_envs.play", "WMIL/Nope-v0"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 2 and "unknown env id 'WMIL/Nope-v0'" in result.stderr
