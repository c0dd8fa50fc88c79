"""Reading text files while counting what was read, how it was decoded, and what failed.

Files are UTF-8 when they can be. A file that is not is decoded in the source's
declared fallback encoding when it has one (the BBC articles are UTF-8 but for
one cp1252 file), else in the encoding that ``charset-normalizer`` detects; a
file whose encoding cannot be found is refused rather than filled with
replacement characters. Every re-decoded file is counted per encoding in the
report (``ReadStats.to_dict``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harnesskit.errors import HarnessError


@dataclass
class ReadStats:
    """What a source read: files, bytes, files decoded other than as UTF-8, and
    files/characters that failed to decode."""

    files: int = 0
    bytes: int = 0
    decode_error_files: int = 0
    decode_error_chars: int = 0
    error_files: list[str] = field(default_factory=list)
    redecoded: Counter = field(default_factory=Counter)  # encoding -> files read in it
    redecoded_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"files": self.files, "bytes": self.bytes,
                "decode_error_files": self.decode_error_files,
                "decode_error_chars": self.decode_error_chars,
                "decode_error_examples": self.error_files[:10],
                "non_utf8_files": dict(sorted(self.redecoded.items())),
                "non_utf8_examples": self.redecoded_files[:10]}


def read_text(path: Path, stats: ReadStats, encoding: str = "utf-8",
              fallback: str | None = None) -> str:
    """Read ``path`` in ``encoding`` (UTF-8); a file that is not valid in it is decoded in
    ``fallback`` when given, else in the encoding charset-normalizer detects (counted)."""
    data = path.read_bytes()
    stats.files += 1
    stats.bytes += len(data)
    return decode_bytes(data, stats, str(path), encoding, fallback)


def decode_bytes(data: bytes, stats: ReadStats, name: str, encoding: str = "utf-8",
                 fallback: str | None = None) -> str:
    """:func:`read_text` for bytes already read (``name`` labels them in errors and the report)."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        pass
    enc = fallback or detect_encoding(data)
    if enc is None:
        raise HarnessError(f"{name} is not {encoding} text and its encoding could not be "
                           "detected", hint="convert it to UTF-8 (e.g. iconv -f LATIN1 -t UTF-8)")
    stats.redecoded[enc] += 1
    stats.redecoded_files.append(name)
    try:
        return data.decode(enc)
    except UnicodeDecodeError:  # a declared fallback that is wrong for part of the file
        text = data.decode(enc, errors="replace")
        stats.decode_error_files += 1
        stats.decode_error_chars += text.count("\ufffd")
        stats.error_files.append(name)
        return text


# Among equally good guesses, the most common encoding of Western text wins: on short
# Latin-1 text charset-normalizer ranks cp1250 first (ties in its scores), and cp1250
# reads "naïve" as "naďve".
PREFERRED = ("cp1252", "utf_16")


def detect_encoding(data: bytes) -> str | None:
    """The encoding charset-normalizer finds for ``data`` (None when nothing fits)."""
    from charset_normalizer import from_bytes  # heavy (its tables): only for non-UTF-8 files

    matches = list(from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    tied = [m for m in matches if m.chaos <= best.chaos + 0.01]  # coherence: too noisy here
    for enc in PREFERRED:
        if any(enc in m.could_be_from_charset for m in tied):
            return enc
    return str(best.encoding)
