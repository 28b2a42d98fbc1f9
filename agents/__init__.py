"""WMIL agents: a tiny transformer (action, world-model, value and VQ heads) trained by
REINFORCE or PPO on the WMIL environments, with trainer, evaluation, baselines and CLIs.
An algorithm is one class behind the contract in ``agents.algorithm``.

    python -m agents.train --config configs/mvp.yaml
    python -m agents.evaluate --checkpoint runs/RUN/checkpoint.pt
"""

from agents.config import Config, ConfigError
from agents.model import AgentModel

__all__ = ["AgentModel", "Config", "ConfigError"]
