"""Debian package descriptions and their translations, from apt's Translation lists.

This machine's apt does not download Translation lists, so :func:`ensure_lists`
fetches them into a private folder without touching ``/etc/apt`` (DATA.md): an
``APT_CONFIG`` file that asks for the en/de/fr languages and points the lists
and the cache into ``<cache>``, then ``apt-get update``. It is idempotent: once
the lists are there it only checks for them.

:func:`iter_descriptions` reads the RFC-822 stanzas: ``Translation-<lang>``
gives each description (``Description-<lang>``: a short line, then the long
part), ``Packages`` gives each package's ``Section``, and both carry the
``Description-md5`` of the English text, which is the join key.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from harnesskit.errors import HarnessError
from harnesskit.fsutil import replace_dir
from harnesskit.paths import data_home
from pretrain.data.textio import ReadStats

LANGS = ("en", "de", "fr")
APT_HELPER = "/usr/lib/apt/apt-helper"


def default_cache() -> Path:
    """``data_home()/apt``, where ``make setup`` puts the lists."""
    return data_home() / "apt"


def _lists_dir(cache: Path) -> Path:
    return cache / "apt-lists"


def translation_files(cache: Path | None = None, lang: str = "en") -> list[Path]:
    """The fetched ``*_i18n_Translation-<lang>`` lists (main suite first)."""
    folder = _lists_dir(cache or default_cache())
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"*_i18n_Translation-{lang}*"), key=lambda p: (len(p.name), p.name))


def packages_files(cache: Path | None = None) -> list[Path]:
    """The fetched ``*_binary-<arch>_Packages`` lists (possibly compressed)."""
    folder = _lists_dir(cache or default_cache())
    return sorted(folder.glob("*_binary-*_Packages*")) if folder.is_dir() else []


def lists_available(cache: Path | None = None) -> tuple[bool, str]:
    """Whether the English Translation list and a Packages list are present."""
    if translation_files(cache) and packages_files(cache):
        return True, "installed"
    return False, "run make setup (fetches apt Translation lists into the data home)"


def ensure_lists(cache: Path | None = None) -> Path:
    """Fetch the Translation-{en,de,fr} and Packages lists into ``cache`` once; returns the lists folder.

    Raises :class:`HarnessError` when apt is missing or the fetch fails.
    """
    cache = Path(cache or default_cache())
    folder = _lists_dir(cache)
    if all(translation_files(cache, lang) for lang in LANGS) and packages_files(cache):
        return folder
    if shutil.which("apt-get") is None:
        raise HarnessError("apt-get is not available, so Debian's Translation lists cannot be "
                           "fetched", hint="use a Debian/Ubuntu machine or another source")
    tmp = cache / f"apt-lists.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "partial").mkdir(parents=True)
    (cache / "empty-dir").mkdir(parents=True, exist_ok=True)
    (cache / "apt-cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    conf = cache / "apt.conf"
    conf.write_text(
        'Acquire::Languages { "en"; "de"; "fr"; };\n'
        f'Dir::State::Lists "{tmp}";\n'
        f'Dir::Etc::Parts "{cache / "empty-dir"}";\n'
        # The package cache goes here too, so the system's apt state is never written.
        f'Dir::Cache "{cache / "apt-cache"}";\n')
    env = {**os.environ, "APT_CONFIG": str(conf)}
    proc = subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not any(tmp.glob("*_i18n_Translation-en*")):
        shutil.rmtree(tmp, ignore_errors=True)
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no Translation-en"]
        raise HarnessError(f"apt-get update could not fetch the Translation lists: {last[0]}",
                           hint="check that apt can reach a Debian mirror")
    replace_dir(tmp, folder)
    return folder


def parse_stanzas(fh: TextIO, keep: tuple[str, ...]) -> Iterator[dict[str, str]]:
    """RFC-822 stanzas of ``fh`` with only the fields in ``keep`` (continuations joined by \\n)."""
    rec: dict[str, str] = {}
    key: str | None = None
    for line in fh:
        if line == "\n":
            if rec:
                yield rec
            rec, key = {}, None
        elif line[0] in " \t":
            if key is not None:
                rec[key] += "\n" + line.rstrip("\n")
        else:
            name, _, value = line.partition(":")
            key = name if name in keep else None
            if key is not None:
                rec[key] = value.strip()
    if rec:
        yield rec


def long_text(raw: str) -> str:
    """The long description as plain text: paragraphs (`` .`` lines) separated by a blank line."""
    lines = []
    for line in raw.split("\n"):
        line = line[1:] if line.startswith(" ") else line
        lines.append("" if line.strip() == "." else line.rstrip())
    return "\n".join(lines).strip("\n")


def sections(cache: Path | None = None, stats=None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """``Description-md5 -> Section`` from the Packages lists (first seen wins)."""
    out: dict[str, str] = {}
    for path in packages_files(cache):
        proc = subprocess.Popen([APT_HELPER, "cat-file", str(path)], stdout=subprocess.PIPE,
                                text=True, encoding="utf-8", errors="replace")
        assert proc.stdout is not None
        for rec in parse_stanzas(proc.stdout, ("Package", "Section", "Description-md5")):
            md5 = rec.get("Description-md5")
            if md5 and md5 not in out:
                out[md5] = rec.get("Section", "unknown")
        proc.wait()
        if stats is not None:
            stats.files += 1
            stats.bytes += path.stat().st_size
    return out


def _read_translation(lang: str, cache: Path | None, stats) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]

    stats = stats if stats is not None else ReadStats()
    field = f"Description-{lang}"
    for path in translation_files(cache, lang):
        before = stats.decode_error_chars
        with open(path, encoding="utf-8", errors="replace") as fh:
            stats.files += 1
            stats.bytes += path.stat().st_size
            for rec in parse_stanzas(fh, ("Package", "Description-md5", field)):
                if field in rec and "Description-md5" in rec:
                    text = rec[field]
                    stats.decode_error_chars += text.count("\ufffd")
                    yield rec
        if stats.decode_error_chars > before:
            stats.decode_error_files += 1
            stats.error_files.append(str(path))


def iter_descriptions(lang: str = "en", *, cache: Path | None = None,
                      stats=None) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """One record per distinct description in ``lang``: package, section, md5, short, long.

    ``long`` is plain text (see :func:`long_text`; paragraphs split on a blank
    line). For ``de``/``fr`` the record also carries ``en_short``/``en_long``,
    the English original with the same ``Description-md5``, when it exists.
    Fetches the lists first (:func:`ensure_lists`) if they are missing.
    """
    if lang not in LANGS:
        raise HarnessError(f"unknown description language {lang!r}", hint="use en, de or fr")
    if not lists_available(cache)[0]:
        ensure_lists(cache)
    by_md5 = sections(cache, stats)
    english: dict[str, tuple[str, str]] = {}
    if lang != "en":
        for rec in _read_translation("en", cache, None):
            short, _, rest = rec["Description-en"].partition("\n")
            english.setdefault(rec["Description-md5"], (short.strip(), long_text(rest)))
    seen: set[str] = set()
    for rec in _read_translation(lang, cache, stats):
        md5 = rec["Description-md5"]
        if md5 in seen:
            continue
        seen.add(md5)
        short, _, rest = rec[f"Description-{lang}"].partition("\n")
        out = {"package": rec.get("Package", ""), "section": by_md5.get(md5, "unknown"),
               "md5": md5, "short": short.strip(), "long": long_text(rest)}
        if md5 in english:
            out["en_short"], out["en_long"] = english[md5]
        yield out
