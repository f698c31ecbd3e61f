"""ILQL's visual-dialogue task (``specs/visdial_protocol.md``): a client of the upstream visdial-rl model server
(form-encoded fields carrying JSON strings), the episode rules (per-question reward, yes/no penalties, percentile
cut-off, 10 rounds) and a text environment built on both. ``mock_server`` holds a protocol-faithful stand-in
server for tests (FastAPI); it is not imported here.
"""

from lexiq.envs.visdial.client import GREEDY, VisDialClient, history_of
from lexiq.envs.visdial.env import VisDialEnv
from lexiq.envs.visdial.policies import QBotPolicy, dialogue_of
from lexiq.envs.visdial.rules import CONSERVATIVE_PHRASES, REWARD_MODES, is_yes_no, progress, turn_reward
from lexiq.envs.visdial.scenes import Scene, SceneFormatError, load_scenes

__all__ = ["CONSERVATIVE_PHRASES", "GREEDY", "REWARD_MODES", "QBotPolicy", "Scene", "SceneFormatError",
           "VisDialClient", "VisDialEnv", "dialogue_of", "history_of", "is_yes_no", "load_scenes", "progress",
           "turn_reward"]
