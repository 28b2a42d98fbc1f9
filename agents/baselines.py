"""Deprecated: the evaluation policies moved to ``agents.policy`` (``ModelAgent`` is now
``ModelPolicy``, ``RandomAgent`` is ``RandomPolicy``, ``make_agent`` is
``agents.algorithm.make_policy``)."""

from agents.algorithm import make_policy as make_agent
from agents.policy import ModelPolicy as ModelAgent
from agents.policy import RandomPolicy as RandomAgent

__all__ = ["ModelAgent", "RandomAgent", "make_agent"]
