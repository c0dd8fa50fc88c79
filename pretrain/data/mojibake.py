"""Mojibake repair with ftfy: UTF-8 text that was once decoded as Windows-1252 or
Latin-1 ("Â£13.8m" for "£13.8m", "cafÃ©" for "café") is decoded back, counted.

Only ftfy's encoding fixes run (``fix_encoding``): quotes, HTML entities and the
like are left as they are, so text that is already right is never changed.
"""

from __future__ import annotations

from collections import Counter

from pretrain.data.step import CleanConfig, Doc, Step, register_step


class FixMojibake(Step):
    """Repair mis-decoded text; counts the documents changed, the characters the repair
    removed ("Â£" -> "£" is one) and which re-decodings ftfy applied."""

    name = "fix_mojibake"

    def __init__(self) -> None:
        super().__init__()
        self.fixes: Counter = Counter()
        self.extra = {"docs_fixed": 0, "chars_fixed": 0, "fixes": {}}

    def process(self, doc: Doc) -> Doc | None:
        import ftfy  # its tables load in ~0.1 s; only when a corpus is built

        text = doc["text"]
        fixed, steps = ftfy.fix_encoding_and_explain(text)
        if not steps or fixed == text:
            return doc
        self.extra["docs_fixed"] += 1
        self.extra["chars_fixed"] += len(text) - len(fixed)  # each repair shortens the text
        self.fixes["+".join(f"{kind}:{enc}" for kind, enc in steps)] += 1
        self.extra["fixes"] = dict(self.fixes.most_common(5))
        return {**doc, "text": fixed}


@register_step("fix_mojibake", order=-10)
def _fix_mojibake(cfg: CleanConfig, test_texts: list[str] | None) -> Step | None:
    return FixMojibake() if cfg.fix_mojibake else None
