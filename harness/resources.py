"""Offline resources that metrics need, installed by ``make setup``.

WordNet 3.0 for NLTK's METEOR comes from Debian's ``wordnet-base`` (files in
``/usr/share/wordnet``). NLTK refuses symlinks that leave its data root, so the
files are copied into ``<venv>/nltk_data/corpora/wordnet`` (``sys.prefix`` is
on ``nltk.data.path``), with the ``lexnames`` table that Debian does not ship.

Debian's Translation lists (package descriptions in en/de/fr, DATA.md) are
fetched once by ``pretrain.data.debian.ensure_lists`` into ``data_home()/apt``;
until the data package provides that function, that step is skipped.

The names of lm-evaluation-harness's ~14,000 tasks are indexed once into the
data home (:func:`tasks.lmeval.index.ensure_index`; skipped without the extra).

Run as ``python -m harness.resources``; it is idempotent and quick when done.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from harnesskit.fsutil import replace_dir

DEBIAN_WORDNET = Path("/usr/share/wordnet")

# The 45 WordNet 3.0 lexicographer files, numbered from 00 (lexnames(5WN)).
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
    "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group "
    "noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant "
    "noun.possession noun.process noun.quantity noun.relation noun.shape noun.state "
    "noun.substance noun.time verb.body verb.change verb.cognition verb.communication "
    "verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion "
    "verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}


def lexnames_text() -> str:
    """The ``lexnames`` file: number, name and syntactic category, tab separated."""
    rows = [f"{i:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}" for i, name in enumerate(LEXNAMES)]
    return "\n".join(rows) + "\n"


def nltk_data_dir() -> Path:
    """Where this environment's NLTK data lives (on ``nltk.data.path`` by default)."""
    return Path(sys.prefix) / "nltk_data"


def install_wordnet(source: Path = DEBIAN_WORDNET, target_root: Path | None = None) -> Path | None:
    """Copy Debian's WordNet into NLTK's data folder; returns the folder or None if absent."""
    target = (target_root or nltk_data_dir()) / "corpora" / "wordnet"
    if (target / "lexnames").exists() and (target / "data.noun").exists():
        return target
    if not (source / "data.noun").exists():
        return None
    tmp = target.with_name("wordnet.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file():
            shutil.copyfile(path, tmp / path.name)
    (tmp / "lexnames").write_text(lexnames_text())
    replace_dir(tmp, target)
    return target


def fetch_debian_lists(quiet: bool) -> None:
    """Fetch apt's Translation lists once (pretrain.data.debian); a failure is only a note."""
    try:
        from harnesskit.paths import data_home
        from pretrain.data.debian import ensure_lists
    except ImportError:
        return  # the data package does not provide them yet
    try:
        where = ensure_lists(data_home() / "apt")
    except Exception as exc:  # no apt, no network: the tasks needing them report unavailable
        print(f"note: Debian translation lists not fetched ({exc}); the Debian tasks are "
              "unavailable", file=sys.stderr)
        return
    if not quiet:
        print(f"Debian translation lists: {where}")


def index_lmeval(quiet: bool) -> None:
    """Cache the names of lm-evaluation-harness's tasks (so `tasks list --lmeval` starts warm)."""
    from tasks.lmeval.index import ensure_index

    where = ensure_index()
    if where is not None and not quiet:
        print(f"lm-eval task index: {where}")


def main(argv: list[str] | None = None) -> int:
    """Install every offline resource; report what is missing without failing."""
    quiet = "--quiet" in (argv if argv is not None else sys.argv[1:])
    fetch_debian_lists(quiet)
    index_lmeval(quiet)
    where = install_wordnet()
    if where is None:
        print("note: WordNet not found in /usr/share/wordnet (apt install wordnet-base "
              "wordnet-sense-index); METEOR will be unavailable", file=sys.stderr)
    elif not quiet:
        print(f"WordNet 3.0 for NLTK: {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
