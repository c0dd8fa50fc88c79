"""``faq-qa``: extractive QA over real FAQ documents (Python docs FAQ, Debian FAQ).

Each FAQ entry whose heading is a question becomes one example: the question is
the heading, the answer is the first sentence of the entry's text (a span of
the context), and the context is the end of the previous entry followed by the
start of this one, so the answer is not always the first sentence. Split by
document (a Python FAQ page, a chapter of the Debian FAQ).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from pretrain.data.sources import PYDOCS_ROOT
from tasks.base import Example, FinetuneDefaults, QATask, first_sentence
from tasks.data import split_by_document
from tasks.registry import register_task

PY_FAQ = PYDOCS_ROOT / "faq"
DEBIAN_FAQ = Path("/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz")
UNDERLINE = re.compile(r"^([=\-~^*+#])\1{2,}\s*$")
DEBIAN_HEADING = re.compile(r"^(\d+)(?:\.\d+)+\.\s+(.*)$")
MAX_ANSWER_WORDS = 40
PREV_WORDS = 40
CONTEXT_WORDS = 120


def strip_rst(text: str) -> str:
    """reST inline markup to plain text (roles, links, literals); directives dropped."""
    text = re.sub(r"^\.\. .*$", "", text, flags=re.MULTILINE)
    text = re.sub(r":[a-z:]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`", r"\1", text)
    text = re.sub(r"`([^`<]*?)\s*<[^>]*>`_+", r"\1", text)
    text = re.sub(r"``([^`]*)``", r"\1", text)
    return re.sub(r"`([^`]*)`_*", r"\1", text)


def rst_sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) of each section of a reST page, bodies as plain text."""
    lines = text.splitlines()
    heads = [i for i in range(len(lines) - 1)
             if lines[i].strip() and UNDERLINE.match(lines[i + 1])
             and len(lines[i + 1].strip()) >= len(lines[i].strip())]
    out = []
    for n, i in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else len(lines)
        out.append((lines[i].strip(), strip_rst("\n".join(lines[i + 2:end]))))
    return out


def debian_sections(text: str) -> list[tuple[str, str, str]]:
    """(chapter, heading, body) of the Debian FAQ's numbered entries."""
    text = text.replace("\u00a0", " ")
    lines = text.splitlines()
    heads = [i for i, ln in enumerate(lines) if DEBIAN_HEADING.match(ln)]
    out = []
    for n, i in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else len(lines)
        j = i + 1
        while j < end and lines[j].strip() and not lines[j].startswith(" "):
            j += 1  # a heading may wrap onto unindented lines
        m = DEBIAN_HEADING.match(lines[i])
        assert m is not None
        heading = " ".join([m.group(2), *[ln.strip() for ln in lines[i + 1:j]]])
        out.append((m.group(1), heading, "\n".join(lines[j:end])))
    return out


def _words(text: str) -> str:
    return " ".join(text.split())


def make_examples(doc: str, sections: list[tuple[str, str]]) -> list[Example]:
    """Examples from a document's (heading, body) sections, in order."""
    out = []
    prev = ""
    for k, (heading, body) in enumerate(sections):
        body = _words(body)
        if heading.endswith("?") and body:
            answer = first_sentence(body)
            if 3 <= len(answer.split()) <= MAX_ANSWER_WORDS:
                tail = " ".join(prev.split()[-PREV_WORDS:])
                head = " ".join(body.split()[: max(CONTEXT_WORDS - len(tail.split()),
                                                   len(answer.split()))])
                context = f"{tail} {head}".strip()
                assert answer in context
                out.append(Example(id=f"{doc}#{k}", input={"question": heading, "context": context},
                                   references=[answer]))
        prev = body
    return out


@register_task
class FaqQA(QATask):
    """FAQ question -> the answer's first sentence, extracted from a short context."""

    name = "faq-qa"
    version = "1"
    description = "Python and Debian FAQ entries: question -> answer span (split by document)"
    source = "apt:python3.11-doc faq/*.rst.txt, apt:debian-faq"
    finetune = FinetuneDefaults(epochs=6, lr=3e-4, batch_size=8, max_len=256, max_new_tokens=48,
                                patience=2, max_train=None)

    def available(self) -> tuple[bool, str]:
        return self.needs(PY_FAQ.is_dir() or DEBIAN_FAQ.is_file(),
                          "needs apt packages python3.11-doc and/or debian-faq")

    def build(self) -> dict[str, list[Example]]:
        groups: dict[str, list[Example]] = {}
        for path in sorted(PY_FAQ.glob("*.rst.txt")) if PY_FAQ.is_dir() else []:
            doc = f"python-faq/{path.name[: -len('.rst.txt')]}"
            groups[doc] = make_examples(doc, rst_sections(path.read_text(encoding="utf-8")))
        if DEBIAN_FAQ.is_file():
            entries = debian_sections(gzip.decompress(DEBIAN_FAQ.read_bytes()).decode("utf-8"))
            for chapter in sorted({c for c, _, _ in entries}, key=int):
                doc = f"debian-faq/{chapter}"
                groups[doc] = make_examples(doc, [(h, b) for c, h, b in entries if c == chapter])
        groups = {k: v for k, v in groups.items() if v}
        return split_by_document(groups, val=0.15, test=0.2, salt="faq-qa")
