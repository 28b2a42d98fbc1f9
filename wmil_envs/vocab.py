"""The one token vocabulary shared by every WMIL environment.

Every observation is a row of token ids from this vocabulary, so one model (one embedding table)
can read every environment, and a world model can predict the next observation token by token.

Token ids are part of each environment id's contract, and they never move:

- the blocks defined in this module (ids 0..170) are frozen: never insert, remove or reorder
  anything here, and add no new block here;
- every later token is declared by a task (``Task.tokens``: its own names, e.g. the operations
  of a world) and appended at the END when the task is registered, after its task token
  ``<task:NAME>``. Registration follows the registry's order (``wmil_envs.tasks``), so adding a
  task as the registry's last line appends its tokens after every existing one;
- a name that already exists keeps its id (tasks may share tokens: digits, symbols, shapes).

``VOCAB_SIZE`` and ``TOKEN_NAMES`` therefore grow as tasks are registered; read them as
``vocab.VOCAB_SIZE`` (not ``from vocab import VOCAB_SIZE``) to see the current size. An env's
observation space is sized by ``size_for_task``: the vocabulary as it stood once its task's
tokens were in (171 for every built-in task), so registering a task changes no existing env.
``tests/test_vocab_golden.py`` pins every existing id and a seeded episode of every env id.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_ACTIONS = 128
"""Largest ``num_actions`` any environment accepts: one symbol token per action."""

PAD = 0  #: padding inside a question
NONE = 1  #: "no action yet" / "no feedback yet"
CORRECT = 2  #: feedback: the last action was right
WRONG = 3  #: feedback: the last action was wrong

_names: list[str] = ["<pad>", "<none>", "<correct>", "<wrong>"]
_ids: dict[str, int] = {name: i for i, name in enumerate(_names)}


def _block(names: list[str]) -> int:
    """Append ``names`` (all new) to the vocabulary and return the id of the first one."""
    start = len(_names)
    add_tokens(names)
    return start


def add_tokens(names: Iterable[str]) -> list[int]:
    """The ids of ``names``, appending the ones not yet in the vocabulary at the end, in order.

    Called by task registration with the task's token names; existing names keep their ids.
    """
    ids = []
    for name in names:
        if name not in _ids:
            _ids[name] = len(_names)
            _names.append(name)
        ids.append(_ids[name])
    return ids


_size_of_task: dict[str, int] = {}


def add_task_tokens(task_name: str, names: Iterable[str] = ()) -> None:
    """Add a task's token ``<task:NAME>`` and its own ``names``, and fix its vocabulary size.

    The size is the vocabulary's length once the task's tokens are in: enough for every token
    the task shows, and unchanged by tasks registered later, so an env's observation space (and
    a model sized from it) never changes when another task is added.
    """
    add_tokens([task_token_name(task_name), *names])
    _size_of_task.setdefault(task_name, len(_names))


def size_for_task(task_name: str) -> int:
    """The vocabulary size of task ``task_name``'s observation space (see ``add_task_tokens``)."""
    try:
        return _size_of_task[task_name]
    except KeyError:
        raise KeyError(f"task {task_name!r} is not registered (wmil_envs.register_task)") from None


def token_id(name: str) -> int:
    """The id of the token called ``name`` (e.g. ``"<task:counting>"``), or a clear error."""
    try:
        return _ids[name]
    except KeyError:
        raise KeyError(
            f"no token {name!r} in the vocabulary; a task's tokens are added when it is "
            "registered (wmil_envs.register_task)"
        ) from None


def task_token_name(task_name: str) -> str:
    """Name of the token that starts every observation of task ``task_name``."""
    return f"<task:{task_name}>"


TASK_NAMES = ("pattern_echo", "sequence_next", "conditional", "numeric_relation", "counting")
"""The first five tasks, whose task tokens form the first block (frozen; later tasks' task
tokens are appended at the end when they are registered)."""
TASK = _block([task_token_name(name) for name in TASK_NAMES])
"""Id of the first task token; the task token of ``TASK_NAMES[i]`` is ``TASK + i``."""

RELATIONS = (
    "successor",
    "predecessor",
    "add_2",
    "same_parity",
    "same_tens",
    "same_ones",
    "makes_ten",
    "greater",
    "smaller",
)
RELATION = _block([f"<rel:{name}>" for name in RELATIONS])

COUNT_KINDS = ("after", "before", "between")
COUNT_KIND = _block([f"<count:{name}>" for name in COUNT_KINDS])

SHAPES = ("circle", "square", "triangle", "star")
COLOURS = ("red", "green", "blue", "yellow")
SIZES = ("small", "large")
TEXTURES = ("plain", "striped")
SHAPE = _block([f"<shape:{v}>" for v in SHAPES])
COLOUR = _block([f"<colour:{v}>" for v in COLOURS])
SIZE = _block([f"<size:{v}>" for v in SIZES])
TEXTURE = _block([f"<texture:{v}>" for v in TEXTURES])

DIGIT = _block([f"<digit:{d}>" for d in range(10)])
"""Numbers 0..99 are shown as two digit tokens: ``DIGIT + tens, DIGIT + ones``."""

SYMBOL = _block([f"<sym:{i}>" for i in range(MAX_ACTIONS)])
"""Symbol ``i`` (an echo target, a sequence element, or action ``i`` in the feedback slot)."""

# The frozen blocks end here. New tokens come from tasks (``Task.tokens``), never from here.


def __getattr__(name: str):
    """``VOCAB_SIZE`` and ``TOKEN_NAMES`` are read live: registering a task may append tokens."""
    if name == "VOCAB_SIZE":
        return len(_names)
    if name == "TOKEN_NAMES":
        return tuple(_names)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def token_name(token: int) -> str:
    """Human-readable name of a token id, for debugging and docs."""
    return _names[int(token)]
