"""Parents by name: the prefix table of factories (callables or import strings), the public
``register_parent``, and the errors for unknown prefixes and missing optional packages."""

from __future__ import annotations

import sys

import gymnasium as gym
import pytest

import wmil_envs
from wmil_envs import parent as parent_module
from wmil_envs.parent import DeterministicParent, parent_spec_problem, resolve_parent


class NamedRules(DeterministicParent):
    """The rules, remembering the name they were built from."""

    def __init__(self, spec: str):
        self.spec = spec


def make_named_rules(spec: str) -> NamedRules:
    return NamedRules(spec)


@pytest.fixture(autouse=True)
def own_table(monkeypatch):
    """Each test registers into its own copy of the table."""
    monkeypatch.setattr(parent_module, "PARENT_FACTORIES", dict(parent_module.PARENT_FACTORIES))


def test_wmil_envs_names_teachers_only_in_import_strings():
    source = open(parent_module.__file__).read()
    assert "import teachers" not in source and "from teachers" not in source
    assert set(parent_module.PARENT_FACTORIES.values()) == {"teachers:make_parent"}


def test_register_a_callable_factory():
    wmil_envs.register_parent("rules", NamedRules)
    env = gym.make("WMIL/PatternEcho-v0", parent="rules:v1")
    assert env.unwrapped.parent.spec == "rules:v1"
    obs, _ = env.reset(seed=0)
    assert env.step(env.unwrapped.oracle())[1] == 1.0


def test_register_an_import_string_loaded_on_first_use():
    wmil_envs.register_parent("named", f"{__name__}:make_named_rules")
    assert parent_spec_problem("named:x") is None
    assert resolve_parent("named:x").spec == "named:x"


def test_unknown_prefix_lists_the_known_ones():
    wmil_envs.register_parent("rules", NamedRules)
    with pytest.raises(ValueError, match=r"unknown parent 'gemini:pro'.*'openai:\.\.\.'.*'rules:"):
        resolve_parent("gemini:pro")
    assert "needs a name after 'rules:'" in parent_spec_problem("rules:")


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "teachers", None)  # as if the llm extra were absent
    with pytest.raises(ImportError, match=r"pip install 'wmil\[llm\]'"):
        resolve_parent("openai:gpt-4o-mini")
    wmil_envs.register_parent("ghost", "ghost_package_not_installed:make")
    with pytest.raises(ImportError, match="install the package that provides"):
        resolve_parent("ghost:x")


@pytest.mark.parametrize(
    "prefix, factory, error",
    [
        ("", NamedRules, ValueError),
        ("a:b", NamedRules, ValueError),
        ("deterministic", NamedRules, ValueError),
        ("ok", "no_colon_here", TypeError),
        ("ok", 42, TypeError),
    ],
)
def test_bad_registrations_are_clear_errors(prefix, factory, error):
    with pytest.raises(error):
        wmil_envs.register_parent(prefix, factory)


def test_config_checks_parent_names_the_same_way():
    from agents.config import Config, ConfigError

    wmil_envs.register_parent("rules", NamedRules)
    Config(parent="rules:v1").validate()
    with pytest.raises(ConfigError, match="unknown parent 'gemini:pro'"):
        Config(parent="gemini:pro").validate()


def test_teacher_error_is_a_deprecated_alias():
    import teachers

    with pytest.warns(DeprecationWarning, match="use teachers.ParentError"):
        assert teachers.TeacherError is teachers.ParentError
