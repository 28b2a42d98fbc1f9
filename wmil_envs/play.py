"""Play any WMIL env in the terminal, as the agent would.

    python -m wmil_envs.play WMIL/Conditional-v0 difficulty=3
    python -m wmil_envs.play WMIL/NumberWalk-v0 difficulty=1 seed=7

Each turn shows the question (the env's ``ansi`` rendering) and reads an action: a number in
``0..num_actions-1``, ``?`` for the oracle's answer, ``h`` for help, ``q`` to quit. After each
action it shows the feedback and the reward; episodes follow one another until ``q`` or the end
of input. ``key=value`` arguments go to ``gym.make`` (values are read as Python literals when they
are, else kept as strings); ``seed=N`` seeds the first reset.
"""

from __future__ import annotations

import argparse
import ast
import sys
from typing import Any, TextIO

import gymnasium as gym

import wmil_envs

HELP = "type an action 0..{last}, ? for the oracle's answer, h for help, q to quit"


def parse_kwargs(pairs: list[str]) -> dict[str, Any]:
    """``["difficulty=3", "parent=deterministic"]`` -> ``{"difficulty": 3, "parent": ...}``."""
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: expected key=value, got {pair!r}")
        try:
            kwargs[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            kwargs[key] = text
    return kwargs


def play(env_id: str, kwargs: dict[str, Any], stdin: TextIO, stdout: TextIO) -> int:
    """Run episodes until the player quits; returns the number of episodes finished."""
    seed = kwargs.pop("seed", None)
    env = gym.make(env_id, render_mode="ansi", **kwargs)
    n = env.action_space.n
    task = env.unwrapped.task

    def say(text: str) -> None:
        print(text, file=stdout, flush=True)

    say(f"{env_id}: {HELP.format(last=n - 1)}")
    finished = 0
    env.reset(seed=seed)
    total = 0.0
    while True:
        say(env.render())
        stdout.write(f"action [0-{n - 1}, ?, h, q]> ")
        stdout.flush()
        line = stdin.readline()
        if not line or line.strip().lower() in ("q", "quit", "exit"):
            say(f"bye: {finished} episode(s) finished")
            return finished
        text = line.strip().lower()
        if text in ("h", "help", ""):
            say(HELP.format(last=n - 1))
            continue
        if text == "?":
            answer = env.unwrapped.oracle()
            say(f"oracle: {answer} ({task.describe_answer(answer)})")
            continue
        try:
            action = int(text)
        except ValueError:
            action = -1
        if not 0 <= action < n:
            say(f"not an action: {line.strip()!r}; {HELP.format(last=n - 1)}")
            continue
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
        verdict = "correct" if info["success"] else "wrong"
        say(f"you chose {action} ({task.describe_answer(action)}): {verdict}, reward {reward:g}")
        if terminated or truncated:
            finished += 1
            result = "success" if info["episode_success"] else "no success"
            say(f"episode over after {info['step']} step(s): {result}, return {total:g}\n")
            env.reset()
            total = 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wmil_envs.play", description="Play a WMIL env in the terminal."
    )
    parser.add_argument("env_id", help=f"one of {', '.join(sorted(wmil_envs.ENV_IDS))}")
    parser.add_argument("kwargs", nargs="*", help="key=value arguments for gym.make, and seed=N")
    args = parser.parse_args(argv)
    if args.env_id not in gym.registry:
        parser.error(f"unknown env id {args.env_id!r}; use one of {sorted(wmil_envs.ENV_IDS)}")
    play(args.env_id, parse_kwargs(args.kwargs), sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
