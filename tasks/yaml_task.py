"""Tasks described by a YAML file, and their validation (every problem at once).

A YAML task names its family, its source (local JSONL files, or a hub dataset
read through ``datasets``), the fields that hold input and target, its metrics
and fine-tuning defaults::

    name: sst2
    family: classification
    version: 1
    source:
      hf: {path: glue, name: sst2, splits: {train: train, test: validation},
           validation_fraction: 0.05}
    fields: {input: sentence, label: label, labels: [negative, positive]}
    metrics: [accuracy, macro_f1]
    finetune: {epochs: 2, lr: 1e-4}

``source.jsonl`` maps ``train``/``validation``/``test`` to files relative to
the YAML file. Field names may be dotted (``translation.de``, ``answers.text``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import string
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError
from tasks.base import (
    FAMILIES,
    FAMILY_CLASSES,
    FINETUNE_KEYS,
    SPLITS,
    Example,
    FinetuneDefaults,
    MetricSpec,
    Task,
)

TOP_KEYS = {"name", "family", "version", "description", "source", "fields", "metrics",
            "finetune", "languages", "prompt", "target_delimiter", "fewshot_delimiter",
            "fewshot_split", "window", "stride"}
FAMILY_FIELDS = {
    "classification": ({"input", "label"}, {"labels", "id"}),
    "qa": ({"question", "context", "answers"}, {"id"}),
    "summarization": ({"input", "target"}, {"id"}),
    "translation": ({"input", "target"}, {"id"}),
    "dialogue": (set(), {"input", "target", "turns", "id"}),
    "lm": ({"text"}, {"id"}),
    "multiple_choice": ({"question", "choices", "gold"}, {"id", "choice_labels"}),
    "cloze": ({"text"}, {"id"}),
}
# (metric name, options) -> what is wrong, or None; given by the layer that owns the metrics.
MetricCheck = Callable[[str, dict], "str | None"]
# Top-level options that must be strings: the prompt template and the delimiters.
_STR_KEYS = ("prompt", "target_delimiter", "fewshot_delimiter", "fewshot_split")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; unreadable or malformed YAML is a HarnessError naming the file."""
    import yaml

    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError(f"task file {path} not found", hint="check the path") from None
    except UnicodeDecodeError as exc:
        raise HarnessError(f"task file {path} is not UTF-8 text ({exc.reason} at byte "
                           f"{exc.start})", hint="save it as UTF-8") from None
    except IsADirectoryError:
        raise HarnessError(f"task file {path} is a folder",
                           hint="pass a .yaml file (or the folder to --include)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise HarnessError(f"task file {path}{where}: malformed YAML",
                           hint=" ".join(str(getattr(exc, "problem", exc)).split())) from None


def read_yaml_name(path: Path) -> str:
    """The ``name`` of a YAML task (validated fully only when the task is used)."""
    data = read_yaml(path)
    name = data.get("name") if isinstance(data, dict) else None
    return str(name) if name else Path(path).stem


def _check_source(src: Any, base: Path, problems: list[str]) -> None:
    if not isinstance(src, dict) or len(set(src) & {"jsonl", "hf"}) != 1 or set(src) - {"jsonl", "hf"}:
        problems.append("source: must be a mapping with exactly one of 'jsonl' or 'hf'")
        return
    if "jsonl" in src:
        files = src["jsonl"]
        if not isinstance(files, dict) or "test" not in files:
            problems.append("source.jsonl: must map splits (at least 'test') to files")
            return
        for split, rel in files.items():
            if split not in SPLITS:
                problems.append(f"source.jsonl.{split}: unknown split (use {', '.join(SPLITS)})")
            elif not (base / str(rel)).is_file():
                problems.append(f"source.jsonl.{split}: file {base / str(rel)} not found")
        return
    hf = src["hf"]
    if not isinstance(hf, dict) or not isinstance(hf.get("path"), str):
        problems.append("source.hf: must be a mapping with a string 'path' (the dataset id)")
        return
    for key in set(hf) - {"path", "name", "splits", "validation_fraction"}:
        problems.append(f"source.hf.{key}: unknown key")
    splits = hf.get("splits", {})
    if not isinstance(splits, dict) or "test" not in splits or set(splits) - set(SPLITS):
        problems.append("source.hf.splits: must map train/validation/test (test required) "
                        "to the dataset's split names")
    frac = hf.get("validation_fraction", 0.05)
    if not isinstance(frac, (int, float)) or not 0 < frac < 1:
        problems.append("source.hf.validation_fraction: must be a number in (0, 1)")


def _check_fields(family: Any, fields: Any, problems: list[str]) -> None:
    if family not in FAMILY_FIELDS:
        return
    required, optional = FAMILY_FIELDS[family]
    if not isinstance(fields, dict):
        problems.append(f"fields: must be a mapping with {', '.join(sorted(required))}")
        return
    for key in sorted(required - set(fields)):
        problems.append(f"fields.{key}: required for family {family}")
    for key in sorted(set(fields) - required - optional):
        problems.append(f"fields.{key}: unknown field for family {family}")
    if family == "dialogue" and not ({"input", "target"} <= set(fields) or "turns" in fields):
        problems.append("fields: dialogue needs input and target, or turns")
    if "labels" in fields and not (isinstance(fields["labels"], list) and fields["labels"]):
        problems.append("fields.labels: must be a non-empty list of label names")


def _check_metrics(metrics: Any, problems: list[str], known: Collection[str] | None,
                   metric_check: MetricCheck | None = None) -> None:
    if not isinstance(metrics, list) or not metrics:
        problems.append("metrics: must be a non-empty list of metric names")
        return
    for i, m in enumerate(metrics):
        name = m.get("name") if isinstance(m, dict) else m
        if isinstance(m, dict) and (set(m) - {"name", "options"} or
                                    not isinstance(m.get("options", {}), dict)):
            problems.append(f"metrics[{i}]: a mapping takes only name and options (a mapping)")
        if not isinstance(name, str):
            problems.append(f"metrics[{i}]: must be a name or {{name, options}}")
        elif known is not None and name not in known:
            problems.append(f"metrics[{i}]: unknown metric {name!r}")
        elif metric_check is not None:
            options = m.get("options", {}) if isinstance(m, dict) else {}
            problem = metric_check(name, options) if isinstance(options, dict) else None
            if problem:
                problems.append(f"metrics[{i}]: {problem}")


def _check_finetune(ft: Any, problems: list[str]) -> None:
    if not isinstance(ft, dict):
        problems.append("finetune: must be a mapping")
        return
    bad = False
    for key in sorted(set(ft) - set(FINETUNE_KEYS)):
        problems.append(f"finetune.{key}: unknown key (known: {', '.join(FINETUNE_KEYS)})")
        bad = True
    if not bad:
        try:
            FinetuneDefaults(**ft)
        except (TypeError, ValueError) as exc:
            problems.append(str(exc))


def validate_task_dict(data: Any, base: Path = Path("."),
                       known_metrics: Collection[str] | None = None,
                       metric_check: MetricCheck | None = None) -> list[str]:
    """Every problem of a YAML task description (an empty list when it is valid).

    Metric names are checked against ``known_metrics``, and each metric with its
    options by ``metric_check(name, options) -> problem or None``, when the caller
    (the layer that owns the metrics) passes them; tasks name metrics by string and
    do not import them."""
    if not isinstance(data, dict):
        return ["the file must hold a mapping (name, family, source, fields, metrics)"]
    problems = [f"{k}: unknown key (known: {', '.join(sorted(TOP_KEYS))})"
                for k in sorted(set(data) - TOP_KEYS)]
    for key in ("name", "family", "source", "fields"):
        if key not in data:
            problems.append(f"{key}: missing (required)")
    name = data.get("name")
    if "name" in data and not (isinstance(name, str) and NAME_RE.match(name)):
        problems.append(f"name: {name!r} must be lower-case letters, digits, '.', '_' or '-'")
    family = data.get("family")
    if "family" in data and family not in FAMILIES:
        problems.append(f"family: {family!r} is not one of {', '.join(FAMILIES)}")
    if "version" in data and not isinstance(data["version"], (str, int)):
        problems.append("version: must be a string or an integer")
    if "source" in data:
        _check_source(data["source"], base, problems)
    if "fields" in data:
        _check_fields(family, data["fields"], problems)
    if "metrics" in data:
        _check_metrics(data["metrics"], problems, known_metrics, metric_check)
    if "finetune" in data:
        _check_finetune(data["finetune"], problems)
    _check_options(data, problems)
    langs = data.get("languages")
    if langs is not None and not (isinstance(langs, dict) and set(langs) <= {"source", "target"}):
        problems.append("languages: must be a mapping with source and target codes")
    return problems


# The fields a prompt template may name, by family (what ``Example.input`` holds).
PROMPT_FIELDS = {"qa": ("question", "context"), "multiple_choice": ("question", "choices")}


def _check_prompt(template: str, family: Any, problems: list[str]) -> None:
    """A prompt must name the input's fields and nothing else: a typo or a stray brace
    would otherwise fail on every example at prediction time."""
    allowed = PROMPT_FIELDS.get(family, ("input",))
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        problems.append(f"prompt: not a valid template ({exc}); write a literal brace as {{{{ }}}}")
        return
    if not names:
        problems.append(f"prompt: must use the input, e.g. '{{{allowed[0]}}}\\nAnswer:'")
    bad = sorted({n for n in names if n not in allowed})
    if bad:
        problems.append(f"prompt: unknown field(s) {', '.join(map(repr, bad))} "
                        f"(this family's are {', '.join(allowed)})")


def _check_options(data: dict, problems: list[str]) -> None:
    for key in _STR_KEYS:
        if key in data and not isinstance(data[key], str):
            problems.append(f"{key}: must be a string")
    if data.get("fewshot_split", "train") not in SPLITS:
        problems.append(f"fewshot_split: must be one of {', '.join(SPLITS)}")
    if isinstance(data.get("prompt"), str):
        _check_prompt(data["prompt"], data.get("family"), problems)
    family = data.get("family")
    for key in ("window", "stride"):
        if key in data and family != "lm":
            problems.append(f"{key}: only for family lm")
    if data.get("window", "overlap") not in ("overlap", "disjoint"):
        problems.append("window: must be overlap (default) or disjoint (lm-evaluation-harness)")
    stride = data.get("stride")
    if stride is not None and not (isinstance(stride, int) and stride >= 1):
        problems.append("stride: must be a positive integer (tokens)")


def validate_yaml(path: str | Path, known_metrics: Collection[str] | None = None,
                  metric_check: MetricCheck | None = None) -> list[str]:
    """Every problem of the YAML task file at ``path`` (empty when valid)."""
    path = Path(path)
    return validate_task_dict(read_yaml(path), path.parent, known_metrics, metric_check)


def load_yaml_task(path: str | Path) -> Task:
    """A :class:`Task` instance from a YAML file; all problems raised at once."""
    path = Path(path)
    data = read_yaml(path)
    problems = validate_task_dict(data, path.parent)
    if problems:
        raise HarnessError(f"task file {path} has {len(problems)} problem(s): " + "; ".join(problems),
                           hint="fix them and run `harness tasks validate` again")
    return make_yaml_task(data, path.parent)


def make_yaml_task(data: dict, base: Path) -> Task:
    """Build a Task subclass instance of the right family from a validated mapping."""
    family_cls = FAMILY_CLASSES[data["family"]]
    attrs: dict[str, Any] = {
        "name": data["name"], "version": str(data.get("version", "1")),
        "description": data.get("description", ""), "spec": data, "base": base,
        "source": _source_label(data["source"]),
    }
    if "metrics" in data:
        attrs["metrics"] = [MetricSpec(m["name"], dict(m.get("options") or {}))
                            if isinstance(m, dict) else MetricSpec(m) for m in data["metrics"]]
    if "finetune" in data:
        attrs["finetune"] = FinetuneDefaults(**data["finetune"])
    for key in ("target_delimiter", "fewshot_delimiter", "fewshot_split", "window", "stride"):
        if key in data:
            attrs[key] = data[key]
    if "prompt" in data:
        attrs["prompt_template"] = data["prompt"]
    langs = data.get("languages") or {}
    if "source" in langs:
        attrs["source_lang"] = langs["source"]
    if "target" in langs:
        attrs["target_lang"] = langs["target"]
    cls = type(f"Yaml_{data['name']}", (YamlTaskMixin, family_cls), attrs)
    return cls()


def _source_label(src: dict) -> str:
    if "hf" in src:
        hf = src["hf"]
        return f"hf:{hf['path']}" + (f"/{hf['name']}" if hf.get("name") else "")
    return "jsonl"


def _get(row: dict, dotted: str) -> Any:
    value: Any = row
    for part in dotted.split("."):
        value = value[part]
    return value


SCORING_KEYS = ("prompt", "target_delimiter", "fewshot_delimiter", "fewshot_split", "window",
                "stride")


class YamlTaskMixin:
    """The data side of a YAML task: rows from JSONL or the hub, mapped through ``fields``.

    ``prompt`` (optional) is a template over the input's fields (``{question}``
    for multiple choice, ``{input}`` for text inputs).
    """

    spec: dict
    base: Path
    prompt_template: str | None = None

    def prompt(self, ex: Example) -> str:
        if self.prompt_template is None:
            return super().prompt(ex)  # type: ignore[misc]
        values = ex.input if isinstance(ex.input, dict) else {"input": ex.input}
        return self.prompt_template.format(**values)

    def data_hash(self) -> str:
        """The built splits' hash, joined with the YAML options that change the numbers
        without changing the data (prompt, delimiters, few-shot split, LM windows), so that
        editing one of them re-runs the task instead of reusing the old results."""
        scoring = {k: self.spec[k] for k in SCORING_KEYS if k in self.spec}
        base = super().data_hash()  # type: ignore[misc]
        if not scoring:
            return base
        blob = json.dumps([base, scoring], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def available(self) -> tuple[bool, str]:
        src = self.spec["source"]
        if "hf" in src and (os.environ.get("HF_DATASETS_OFFLINE") == "1"
                            or os.environ.get("HF_HUB_OFFLINE") == "1"):
            return False, f"unavailable offline (needs the hub dataset {src['hf']['path']})"
        return True, ""

    def _rows(self) -> dict[str, list[dict]]:
        import json

        src = self.spec["source"]
        if "jsonl" in src:
            out = {}
            for split, rel in src["jsonl"].items():
                lines = (self.base / rel).read_text(encoding="utf-8").splitlines()
                out[split] = [json.loads(line) for line in lines if line.strip()]
            return out
        return _hub_rows(src["hf"])

    def build(self) -> dict[str, list[Example]]:
        out: dict[str, list[Example]] = {s: [] for s in SPLITS}
        for split, rows in self._rows().items():
            out[split] = _to_examples(self.spec["family"], self.spec["fields"], rows, split)
        return out


def _hub_rows(hf: dict) -> dict[str, list[dict]]:
    """Rows of a hub dataset; validation carved out of train when not given."""
    import datasets

    from tasks.data import split_of

    ds = datasets.load_dataset(hf["path"], hf.get("name"))
    splits = hf.get("splits", {"train": "train", "validation": "validation", "test": "test"})
    out = {s: [dict(r) for r in ds[name]] for s, name in splits.items()}
    if "validation" not in splits and "train" in out:
        frac = hf.get("validation_fraction", 0.05)
        rows = out.pop("train")
        side = [split_of(str(i), val=frac, test=0) for i in range(len(rows))]
        out["train"] = [r for r, s in zip(rows, side) if s == "train"]
        out["validation"] = [r for r, s in zip(rows, side) if s != "train"]
    return out


def _to_examples(family: str, fields: dict, rows: list[dict], split: str) -> list[Example]:
    out: list[Example] = []
    for i, row in enumerate(rows):
        rid = str(_get(row, fields["id"])) if "id" in fields else f"{split}-{i}"
        if family == "classification":
            label = _get(row, fields["label"])
            if "labels" in fields and isinstance(label, int):
                label = fields["labels"][label]
            out.append(Example(id=rid, input=str(_get(row, fields["input"])),
                               references=[str(label)], label=str(label)))
        elif family == "qa":
            answers = _get(row, fields["answers"])
            answers = [answers] if isinstance(answers, str) else [str(a) for a in answers]
            out.append(Example(id=rid, input={"question": str(_get(row, fields["question"])),
                                              "context": str(_get(row, fields["context"]))},
                               references=answers))
        elif family == "dialogue" and "turns" in fields:
            turns = [str(t).strip() for t in _get(row, fields["turns"])]
            out.extend(Example(id=f"{rid}-{j}", input=a, references=[b])
                       for j, (a, b) in enumerate(zip(turns, turns[1:])) if a and b)
        elif family == "lm":
            out.append(Example(id=rid, input=str(_get(row, fields["text"])), references=[]))
        elif family == "multiple_choice":
            out.append(_choice_example(rid, row, fields))
        elif family == "cloze":
            context, _, word = str(_get(row, fields["text"])).strip().rpartition(" ")
            out.append(Example(id=rid, input=context, references=[word]))
        else:
            out.append(Example(id=rid, input=str(_get(row, fields["input"])),
                               references=[str(_get(row, fields["target"]))]))
    return out


def _value(row: dict, spec: str) -> str:
    """A field (dotted name) or a template over fields (``"{activity_label}: {ctx}"``)."""
    if "{" in spec:
        return spec.format_map(_Fields(row))
    return str(_get(row, spec))


class _Fields(dict):
    def __init__(self, row: dict) -> None:
        super().__init__()
        self.row = row

    def __missing__(self, key: str) -> Any:
        return _get(self.row, key)


def _choice_example(rid: str, row: dict, fields: dict) -> Example:
    """question (field or template), choices (a list field or a list of fields), gold (an
    index, or a label found in ``choice_labels``)."""
    spec = fields["choices"]
    choices = ([str(_get(row, f)) for f in spec] if isinstance(spec, list)
               else [str(c) for c in _get(row, spec)])
    gold = _get(row, fields["gold"])
    labels = ([str(x) for x in _get(row, fields["choice_labels"])]
              if "choice_labels" in fields else [str(i) for i in range(len(choices))])
    if str(gold) not in labels:
        raise HarnessError(f"row {rid}: gold {gold!r} is not one of its choices' "
                           f"{'labels' if 'choice_labels' in fields else 'indices'} {labels}",
                           hint="fix the row or the fields.gold / fields.choice_labels mapping")
    gold = labels.index(str(gold))
    return Example(id=rid, input={"question": _value(row, fields["question"]), "choices": choices},
                   references=[str(gold)], label=str(gold))
