"""Episodes, their JSONL files and sources, and the token MDP every objective trains on.

``Episode`` (``episode.py``) → ``load_episodes`` / ``read_episodes`` / ``from_trlx_samples``
(``sources.py``, ``jsonl.py``) → ``build_token_mdp`` / ``TokenizedDataset`` (``token_mdp.py``) →
``collate_mdp`` (``collate.py``).
The format is documented in ``docs/data-format.md``.
"""

from lexiq.data.collate import MDPCollator, collate_mdp
from lexiq.data.episode import Episode, EpisodeFormatError, Turn, episode_from_dict, validate_episode
from lexiq.data.jsonl import iter_episodes, read_episodes, write_episodes
from lexiq.data.sources import RewardNormalization, from_trlx_samples, load_episodes, zscore_rewards
from lexiq.data.token_mdp import (
    EpisodeFormat,
    TokenizedDataset,
    TokenMDP,
    TokenMDPError,
    UnencodableTextError,
    build_prompt,
    build_token_mdp,
    encode_checked,
)

__all__ = [
    "Episode",
    "EpisodeFormat",
    "EpisodeFormatError",
    "MDPCollator",
    "RewardNormalization",
    "TokenMDP",
    "TokenMDPError",
    "TokenizedDataset",
    "Turn",
    "UnencodableTextError",
    "build_prompt",
    "build_token_mdp",
    "collate_mdp",
    "encode_checked",
    "episode_from_dict",
    "from_trlx_samples",
    "iter_episodes",
    "load_episodes",
    "read_episodes",
    "validate_episode",
    "write_episodes",
    "zscore_rewards",
]
