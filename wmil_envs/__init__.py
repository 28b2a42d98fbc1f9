"""WMIL environments: small symbolic tasks for learning from interaction, as Gymnasium envs.

``import wmil_envs`` registers the ``WMIL/*`` ids; ``gym.make("wmil_envs:WMIL/PatternEcho-v0")``
does the same with no import line.
"""

from wmil_envs.curriculum import CurriculumManager
from wmil_envs.memory import EpisodeMemory, VectorEpisodeMemory
from wmil_envs.parent import DeterministicParent, Parent, register_parent
from wmil_envs.registration import ENV_IDS, TASK_OF_ID, register_envs, register_task
from wmil_envs.state import State, StateBatch
from wmil_envs.tasks import TASKS, make_task
from wmil_envs.wrappers import CurriculumWrapper, VectorCurriculumWrapper

register_envs()

__all__ = [
    "ENV_IDS",
    "TASK_OF_ID",
    "TASKS",
    "CurriculumManager",
    "CurriculumWrapper",
    "DeterministicParent",
    "EpisodeMemory",
    "Parent",
    "State",
    "StateBatch",
    "VectorCurriculumWrapper",
    "VectorEpisodeMemory",
    "make_task",
    "register_parent",
    "register_envs",
    "register_task",
]
__version__ = "0.1.0"
