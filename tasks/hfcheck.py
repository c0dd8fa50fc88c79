"""Cheap checks of an ``hf:PATH`` folder before transformers is asked to load it.

transformers answers a damaged folder with a long traceback (or, worse, loads
it: a folder without tokenizer files gives a tokenizer that maps every word to
``[UNK]``). :func:`check_hf_folder` reads only file headers and small JSON files
and raises one-line :class:`HarnessError` s that name the file and the fix;
:func:`check_tokenizer_usable` catches a tokenizer that maps text to unknowns.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError

# Weight files we read (never pickles: torch.load runs arbitrary code).
SAFETENSORS = ("model.safetensors",)
SAFETENSORS_INDEX = "model.safetensors.index.json"
PICKLES = ("pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack")
# Any one of these makes a usable tokenizer (fast tokenizer, WordPiece, BPE, SentencePiece).
TOKENIZER_FILES = (("tokenizer.json",), ("vocab.txt",), ("vocab.json", "merges.txt"),
                   ("tokenizer.model",), ("spiece.model",), ("sentencepiece.bpe.model",))
PROBE = "The quick brown fox jumps over the lazy dog."


def check_hf_folder(path: str | Path) -> dict[str, Any]:
    """Validate a local transformers folder; return its parsed ``config.json``.

    Checks, in order: the folder exists; ``config.json`` is a JSON object with a
    ``model_type``; the weights are safetensors (a pickle-only folder is refused)
    and no file is truncated against its own header; tokenizer files are present.
    """
    folder = Path(path).expanduser()
    label = f"hf:{path}"
    if not folder.is_dir():
        raise HarnessError(f"{label}: no such folder" if not folder.exists()
                           else f"{label} is a file, not a model folder",
                           hint="pass hf:<folder with config.json, weights and tokenizer files>")
    config = _read_config(folder, label)
    _check_weights(folder, label)
    if not any(all((folder / f).is_file() for f in group) for group in TOKENIZER_FILES):
        raise HarnessError(f"{label} has no tokenizer files (tokenizer.json, vocab.txt, "
                           "vocab.json+merges.txt or a SentencePiece model)",
                           hint="save the tokenizer into the folder too "
                                "(tokenizer.save_pretrained(folder))")
    return config


def _read_config(folder: Path, label: str) -> dict[str, Any]:
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise HarnessError(f"{label} is not a transformers model folder (no config.json)",
                           hint="pass hf:<folder saved with save_pretrained>")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HarnessError(f"{cfg_path} is not valid JSON ({_reason(exc)})",
                           hint="restore the file from the model's source") from None
    if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
        raise HarnessError(f"{cfg_path} has no model_type",
                           hint="a transformers config.json names its model_type, e.g. bert")
    return config


def _check_weights(folder: Path, label: str) -> None:
    files = [folder / n for n in SAFETENSORS if (folder / n).is_file()]
    index = folder / SAFETENSORS_INDEX
    if index.is_file():
        files += _index_shards(index)
    if not files:
        pickles = [n for n in PICKLES if (folder / n).is_file()]
        if pickles:
            raise HarnessError(f"{label} holds only {pickles[0]} (pickle weights, never loaded "
                               "here: unpickling runs arbitrary code)",
                               hint="convert it to model.safetensors (save_pretrained with "
                                    "safe_serialization=True)")
        raise HarnessError(f"{label} has no weights (model.safetensors)",
                           hint="save the model with save_pretrained into the folder")
    for f in files:
        check_safetensors(f)


def _index_shards(index: Path) -> list[Path]:
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        names = sorted(set(weight_map.values()))
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise HarnessError(f"{index} is not a safetensors index ({_reason(exc)})",
                           hint="restore the file from the model's source") from None
    missing = [n for n in names if not (index.parent / n).is_file()]
    if missing:
        raise HarnessError(f"{index} names {missing[0]}, which is missing",
                           hint="copy every weight shard into the folder")
    return [index.parent / n for n in names]


def check_safetensors(path: Path) -> None:
    """A safetensors file whose header parses and whose size matches it (not truncated)."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            (n,) = struct.unpack("<Q", head) if len(head) == 8 else (-1,)
            if not 2 <= n <= size - 8:
                raise ValueError("no valid header")
            header = json.loads(fh.read(n))
        ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise HarnessError(f"{path} is not a safetensors file ({_reason(exc)})",
                           hint="restore or re-save the weights") from None
    need = 8 + n + max(ends, default=0)
    if size < need:
        raise HarnessError(f"{path} is truncated ({size:,} of {need:,} bytes)",
                           hint="copy the file again; the download or copy was cut short")


def check_tokenizer_usable(tokenizer: Any, label: str, unk_id: int | None) -> None:
    """Refuse a tokenizer that turns plain English into unknown tokens only."""
    ids = list(tokenizer.encode(PROBE, add_special_tokens=False).ids)
    if not ids or (unk_id is not None and all(i == unk_id for i in ids)):
        raise HarnessError(f"{label}: its tokenizer maps every word to the unknown token",
                           hint="the folder's tokenizer files are missing or empty; save the "
                                "model's tokenizer into it")


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:120] or type(exc).__name__
