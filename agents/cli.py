"""Settings from outside the code: YAML files, command-line flags, and ``--help`` from ``Config``.

Precedence: the dataclass defaults < ``--config FILE.yaml`` < flags. A flag is its config key
(``--num_envs 8`` is ``num_envs: 8`` in YAML); the hyphen spelling (``--num-envs 8``) is accepted
too. Booleans take ``--flag``, ``--flag false`` or ``--no_flag``; lists are comma-separated. An
unknown flag is an error that names the closest valid one and lists them all.

``--help`` shows each field's docstring and default, grouped by the ``# --- section ---`` comments
of ``Config``: both are read from its source once, so the dataclass is the only place to document
a setting.
"""

from __future__ import annotations

import argparse
import ast
import functools
import inspect
import os
import re
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from agents.config import (
    FIELD_NAMES,
    FIELD_TYPES,
    INT_LIST,
    RANGES,
    Config,
    ConfigError,
    coerce,
    unknown_message,
)

SECTION = re.compile(r"^\s*# --- (.+?) ---\s*$")
"""A section comment in ``Config``'s body, e.g. ``# --- environment ---``."""

METAVARS = {int: "INT", float: "FLOAT", str: "TEXT", bool: "true|false", list: "TEXT,TEXT",
            INT_LIST: "INT,INT"}  # fmt: skip

FLAG_RULES = """\
Every flag is a config key: flags override the --config file, which overrides the defaults.
Hyphens work as well as underscores (--num-envs = --num_envs). Booleans: --flag, --flag false
or --no_flag. Lists: comma-separated (--curriculum_schedule 0,2,4). None: --flag none."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice (YAML itself keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (it is given twice)", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping in a YAML config file; a ConfigError (naming the file) if it is missing,
    not UTF-8 text, not valid YAML, empty, not a mapping, or gives a key twice."""
    name = repr(str(path))
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_UniqueKeyLoader)  # noqa: S506  (a SafeLoader)
    except FileNotFoundError:
        raise ConfigError(f"config file {name} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {name} is a directory; give a YAML file") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"config file {name} is not UTF-8 text (byte {error.start}); give a YAML file"
        ) from None
    except yaml.YAMLError as error:
        text = " ".join(str(error).split())  # one line
        raise ConfigError(f"config file {name} is not valid YAML: {text}") from None
    if data is None:
        raise ConfigError(
            f"config file {name} is empty; give it config keys, or leave out --config to "
            "train with the defaults"
        )
    if not isinstance(data, dict):
        raise ConfigError(f"config file {name} must hold a mapping of keys to values")
    return data


@functools.cache
def field_docs() -> dict[str, dict[str, str]]:
    """Section title -> {field name: docstring}, in source order, read from ``Config``'s source."""
    source = textwrap.dedent(inspect.getsource(Config))
    titles = [(number, match.group(1)) for number, line in enumerate(source.splitlines(), 1)
              if (match := SECTION.match(line))]  # fmt: skip
    body = ast.parse(source).body[0].body
    sections: dict[str, dict[str, str]] = {}
    for node, after in zip(body, [*body[1:], None], strict=True):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        title = max((t for t in titles if t[0] < node.lineno), default=(0, "settings"))[1]
        doc = ""
        if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            doc = inspect.cleandoc(str(after.value.value))
        sections.setdefault(title, {})[node.target.id] = doc
    return sections


def canonical_flags(argv: Iterable[str]) -> list[str]:
    """``argv`` with every flag spelled with underscores: ``--num-envs=8`` -> ``--num_envs=8``."""
    out = []
    for arg in argv:
        if arg.startswith("--") and len(arg) > 2:
            name, eq, value = arg[2:].partition("=")
            arg = "--" + name.replace("-", "_") + eq + value
        out.append(arg)
    return out


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are ConfigErrors, which the CLIs print as ``error: ...`` (exit 2)."""

    def error(self, message: str):
        raise ConfigError(message)


def _default_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def config_parser(
    prog: str | None = None,
    description: str | None = None,
    extra: Mapping[str, str] | Iterable[str] = (),
    documented: bool = True,
) -> argparse.ArgumentParser:
    """A parser with one flag per ``Config`` field, grouped and documented as in ``Config``.

    ``extra`` names flags that are not config fields (name -> help, or names only). Flags not
    given are absent from the parsed namespace, so they never override a YAML file.
    ``documented=False`` parses alike without reading the docs from ``Config``'s source (20 ms
    of every start-up, needed for ``--help`` only).
    """
    parser = _Parser(
        prog=prog,
        usage="%(prog)s [--FLAG VALUE ...]",
        description=description,
        epilog=FLAG_RULES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
    )
    extra = extra if isinstance(extra, Mapping) else dict.fromkeys(extra, "")
    if extra:
        group = parser.add_argument_group("files")
        for name, help_text in extra.items():
            group.add_argument(f"--{name}", metavar=name.upper(), help=help_text)
    defaults = Config()
    sections = field_docs() if documented else {"settings": dict.fromkeys(FIELD_NAMES, "")}
    for title, docs in sections.items():
        group = parser.add_argument_group(title)
        for name, doc in docs.items():
            kind, _ = FIELD_TYPES[name]
            default = _default_text(getattr(defaults, name))
            low, high = RANGES.get(name, (None, None))
            bounds = f" (allowed: {low:,}..{high:,})" if name in RANGES else ""
            help_text = f"{doc} (default: {default}){bounds}".lstrip().replace("%", "%%")
            if kind is bool:
                group.add_argument(f"--{name}", nargs="?", const="true", metavar=METAVARS[kind],
                                   help=help_text)  # fmt: skip
                group.add_argument(f"--no_{name}", dest=name, action="store_const",
                                   const="false", help=argparse.SUPPRESS)  # fmt: skip
            else:
                group.add_argument(f"--{name}", metavar=METAVARS[kind], help=help_text)
    return parser


def parse_flags(
    argv: list[str], extra: Mapping[str, str] | Iterable[str] = ()
) -> tuple[dict[str, Any], dict[str, str]]:
    """Command-line flags -> (config values, typed; values of the ``extra`` flags).

    Only the flags given appear. An unknown flag, a flag without its value or a bad value is a
    ConfigError; an unknown flag's message names the closest valid one and lists them all.
    """
    extra = extra if isinstance(extra, Mapping) else dict.fromkeys(extra, "")
    parser = config_parser(extra=extra, documented=False)
    parsed, rest = parser.parse_known_args(canonical_flags(argv))
    unknown = [arg.split("=")[0] for arg in rest if arg.startswith("-")]
    if unknown:
        valid = [f"--{name}" for name in (*extra, *FIELD_NAMES)]
        raise ConfigError(unknown_message("flag", unknown, valid))
    if rest:
        raise ConfigError(f"unexpected argument {rest[0]!r}; flags look like --name value")
    given = vars(parsed)
    values = {name: coerce(name, value) for name, value in given.items() if name not in extra}
    others = {name: value for name, value in given.items() if name in extra}
    return values, others


__all__ = ["canonical_flags", "config_parser", "field_docs", "load_yaml", "parse_flags"]
