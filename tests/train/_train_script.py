"""Entry point used by the trainer tests (single process or under `accelerate launch`)."""

import json
import os
import sys

from accelerate.utils import set_seed

from lexiq.data.collate import collate_mdp
from lexiq.data.token_mdp import EpisodeFormat, TokenizedDataset
from lexiq.envs.wordle.datasets import generate_dataset
from lexiq.models.presets import ModelConfig, build_model, load_tokenizer
from lexiq.objectives import ILQL, ILQLConfig
from lexiq.train import TrainConfig, train


def main(out: str, max_steps: int, resume: bool, save_every: int) -> None:
    tok = load_tokenizer(ModelConfig(path="tiny"))
    episodes = generate_dataset("mixed", 40, seed=3)
    ds = TokenizedDataset(episodes, tok, EpisodeFormat.wordle(), gamma=0.99)
    set_seed(1)
    model = build_model(ModelConfig(path="tiny", n_positions=96), tok)
    cfg = TrainConfig(output_dir=out, max_steps=max_steps, batch_size=8, lr=1e-3, log_every=1, seed=1,
                      save_every=save_every, resume=resume, progress=False, report_to=[])
    summary = train(ILQL(ILQLConfig(cql_weight=0.1)), model, ds, lambda b: collate_mdp(b, tok.pad_token_id), cfg)
    if int(os.environ.get("RANK", "0")) == 0:
        model.save_pretrained(f"{out}/policy", tokenizer=tok)
        with open(f"{out}/summary.json", "w") as fh:
            json.dump({"num_processes": summary["num_processes"]}, fh)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "resume", int(sys.argv[4]))
