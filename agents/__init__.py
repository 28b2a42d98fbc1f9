"""WMIL agents: a tiny transformer (action, world-model, value and VQ heads) trained by
REINFORCE or PPO on the WMIL environments, with trainer, evaluation, baselines and CLIs.
An algorithm is one class behind the contract in ``agents.algorithm``.

    python -m agents.train --config configs/mvp.yaml
    python -m agents.evaluate --checkpoint runs/RUN/checkpoint.pt
"""

__all__ = ["AgentModel", "Config", "ConfigError"]


def __getattr__(name: str):
    """The exports, imported on first use: ``python -m agents.train`` runs this file before
    its own, and torch must not load before that module has paused garbage collection."""
    if name in ("Config", "ConfigError"):
        from agents import config

        return getattr(config, name)
    if name == "AgentModel":
        from agents.model import AgentModel

        return AgentModel
    raise AttributeError(f"module 'agents' has no attribute {name!r}")
