"""An example task plugin for Harness: which fortune(6) file did an entry come from?

Copy this folder to start your own. ``pip install ./examples/plugin-task`` makes
the task appear in ``harness tasks list``, because the package declares the
entry point ``fortune-topic = "harness_fortune_task:FortuneTopic"`` in the
group ``harness.tasks``. The data (320 short entries of Debian's ``fortunes``
files food, law, love and sports) ships as package data.
"""

from __future__ import annotations

import json
from importlib import resources

from tasks.base import SPLITS, ClassificationTask, Example, FinetuneDefaults
from tasks.data import split_of


class FortuneTopic(ClassificationTask):
    """A fortune -> the file it came from: food, law, love or sports."""

    name = "fortune-topic"
    version = "1"
    description = "fortune(6) entries classified by their file (food, law, love, sports)"
    source = "package data of harness-fortune-task (from Debian fortunes)"
    label_word = "Topic"
    finetune = FinetuneDefaults(epochs=5, lr=3e-4, batch_size=16, max_len=96, max_train=None)

    def build(self) -> dict[str, list[Example]]:
        text = resources.files(__package__).joinpath("data/fortunes.jsonl").read_text("utf-8")
        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        for line in text.splitlines():
            row = json.loads(line)
            # A stable hash of the id decides the split: 70% train, 15% validation, 15% test.
            split = split_of(row["id"], val=0.15, test=0.15, salt=self.name)
            out[split].append(Example(id=row["id"], input=row["text"], references=[row["label"]],
                                      label=row["label"]))
        return out
