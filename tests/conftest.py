"""Shared fixtures of the wmil_envs test suite.

Kept small on purpose: helpers each test module needs live in that module, so a module reads top
to bottom. The fixtures here only name things every module parametrises over.
"""

from __future__ import annotations

import warnings

import pytest

import wmil_envs


@pytest.fixture
def no_warnings():
    """Inside the test, any warning is an error (gymnasium's and SB3's checkers only warn)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture(params=sorted(wmil_envs.ENV_IDS))
def env_id(request) -> str:
    """Every registered id, as MiniGrid's tests run over every registered spec."""
    return request.param
