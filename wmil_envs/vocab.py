"""The one token vocabulary shared by every WMIL environment.

Every observation is a row of token ids from this vocabulary, so one model (one embedding table)
can read every environment, and a world model can predict the next observation token by token.
Token ids are stable across versions of an environment id: changing them is a new ``-vN``.
"""

from __future__ import annotations

MAX_ACTIONS = 128
"""Largest ``num_actions`` any environment accepts: one symbol token per action."""

PAD = 0  #: padding inside a question
NONE = 1  #: "no action yet" / "no feedback yet"
CORRECT = 2  #: feedback: the last action was right
WRONG = 3  #: feedback: the last action was wrong

_names: list[str] = ["<pad>", "<none>", "<correct>", "<wrong>"]


def _block(names: list[str]) -> int:
    """Append ``names`` to the vocabulary and return the id of the first one."""
    start = len(_names)
    _names.extend(names)
    return start


TASK_NAMES = ("pattern_echo", "sequence_next", "conditional", "numeric_relation", "counting")
TASK = _block([f"<task:{name}>" for name in TASK_NAMES])
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

VOCAB_SIZE = len(_names)
TOKEN_NAMES: tuple[str, ...] = tuple(_names)


def token_name(token: int) -> str:
    """Human-readable name of a token id, for debugging and docs."""
    return TOKEN_NAMES[int(token)]
