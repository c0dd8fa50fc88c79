"""Reading text files while counting what was read and what failed to decode."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ReadStats:
    """What a source read: files, bytes, and files/characters that failed to decode."""

    files: int = 0
    bytes: int = 0
    decode_error_files: int = 0
    decode_error_chars: int = 0
    error_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"files": self.files, "bytes": self.bytes,
                "decode_error_files": self.decode_error_files,
                "decode_error_chars": self.decode_error_chars,
                "decode_error_examples": self.error_files[:10]}


def read_text(path: Path, stats: ReadStats, encoding: str = "utf-8") -> str:
    """Read ``path`` in ``encoding``; undecodable bytes become U+FFFD and are counted."""
    data = path.read_bytes()
    stats.files += 1
    stats.bytes += len(data)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        text = data.decode(encoding, errors="replace")
        stats.decode_error_files += 1
        # Replacement characters already present in valid text are rare; count the new ones.
        stats.decode_error_chars += text.count("\ufffd")
        stats.error_files.append(str(path))
        return text
