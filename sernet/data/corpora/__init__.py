"""Real-corpus preparers: a user's local copy of a public corpus -> one validated 16 kHz manifest.

Nobody can download these corpora for you (each has its own licence and request form): see
``data_scripts/README.md`` for where to get each one, its layout and its label mapping. Then::

    sernet prepare ravdess /data/RAVDESS --out /data/prepared/ravdess
    sernet prepare folder /data/my_recordings --out /data/prepared/mine     # ROOT/<label>/*.wav
    sernet prepare csv /data/my_list.csv --out /data/prepared/listed        # path,label[,speaker][,split]
    SERNET_DATA=/data/prepared/ravdess sernet train ...

or from Python::

    from sernet.data import corpora
    summary = corpora.prepare("ravdess", "/data/RAVDESS", "/data/prepared/ravdess")
    print(summary.table())

Registry
--------
==============  ====================================================  =====================  =========
name            corpus                                                native classes         rate
==============  ====================================================  =====================  =========
msp_podcast     MSP-Podcast (the paper's corpus)                      the paper's 8          16 kHz
ravdess         RAVDESS speech                                        8 incl. calm           48 kHz
crema_d         CREMA-D                                               6                      16 kHz
tess            TESS                                                  7 (ps = surprise)      24.4 kHz
emodb           EmoDB (German)                                        7 incl. boredom        16 kHz
iemocap         IEMOCAP, 4-class (exc merged into happy)              4                      16 kHz
savee           SAVEE                                                 7                      44.1 kHz
==============  ====================================================  =====================  =========

Your own corpus: :func:`prepare_folder` (:mod:`sernet.data.corpora.folder`) and :func:`prepare_csv`
(:mod:`sernet.data.corpora.csv_corpus`), with the corpus's own label set.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sernet.data.corpora import crema_d, emodb, iemocap, msp_podcast, ravdess, savee, tess
from sernet.data.corpora.base import (
    DROP_REASONS,
    PAPER_SPLIT_FRACTIONS,
    SPLIT_SEED,
    Candidate,
    CorpusSpec,
    Dropped,
    PrepareError,
    PrepareSummary,
    parse_split,
    speaker_folds,
    speaker_split,
)
from sernet.data.corpora.csv_corpus import prepare_csv
from sernet.data.corpora.folder import prepare_folder, read_label_map
from sernet.data.corpora.prepare import prepare_corpus, read_classes
from sernet.labels import EMOTIONS

CORPORA: dict[str, CorpusSpec] = {
    m.SPEC.name: m.SPEC for m in (msp_podcast, ravdess, crema_d, tess, emodb, iemocap, savee)
}
"""Corpus name -> :class:`CorpusSpec`."""


def get(name: str) -> CorpusSpec:
    """The corpus called ``name`` (case and ``-``/``_`` insensitive: ``"CREMA-D"`` works)."""
    key = name.strip().lower().replace("-", "_")
    if key not in CORPORA:
        raise PrepareError(f"unknown corpus {name!r}; expected one of {', '.join(CORPORA)}")
    return CORPORA[key]


def prepare(name: str, root: str | Path, out: str | Path, **options) -> PrepareSummary:
    """Prepare corpus ``name`` from ``root`` into ``out``; see :func:`prepare_corpus` for the options."""
    return prepare_corpus(get(name), root, out, **options)


def documented_counts() -> pd.DataFrame:
    """Per-class utterance counts of each public release (paper8 classes), as documented by its authors.

    Rows: corpora (MSP-Podcast excluded: its counts depend on the release, see
    ``msp_podcast.PAPER_VS_RELEASES``); columns: the paper's 8 classes, then ``unmapped`` (native classes
    with no paper counterpart, e.g. RAVDESS calm) and ``total``.
    """
    rows = {}
    for name, spec in CORPORA.items():
        if not spec.documented_counts:
            continue
        row = dict.fromkeys(EMOTIONS, 0) | {"unmapped": 0}
        for native, n in spec.documented_counts.items():
            row[spec.paper8_map.get(native, "unmapped")] += n
        row["total"] = spec.documented_total()
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def label_maps() -> pd.DataFrame:
    """One row per corpus: native classes, their paper8 mapping, dropped and unsupplied classes, split rule."""
    rows = []
    for name, spec in CORPORA.items():
        mapped = ", ".join(f"{k}->{v}" if k != v else k for k, v in spec.paper8_map.items())
        dropped = [c for c in spec.native_classes if c not in spec.paper8_map]
        rows.append({"corpus": name, "rate_hz": spec.native_rate_hz, "paper8": mapped,
                     "dropped_under_paper8": ", ".join(dropped) or "-",
                     "cannot_supply": ", ".join(spec.unsupplied()) or "-", "splits": "/".join(spec.splits)})
    return pd.DataFrame(rows).set_index("corpus")


__all__ = [
    "CORPORA", "DROP_REASONS", "PAPER_SPLIT_FRACTIONS", "SPLIT_SEED", "Candidate", "CorpusSpec", "Dropped",
    "PrepareError", "PrepareSummary", "documented_counts", "get", "label_maps", "prepare", "prepare_corpus",
    "parse_split", "prepare_csv", "prepare_folder", "read_classes", "read_label_map", "speaker_folds",
    "speaker_split",
]
