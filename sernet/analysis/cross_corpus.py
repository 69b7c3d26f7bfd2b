"""Cross-corpus evaluation: train on corpus A, test on corpus B over the classes they share.

The paper evaluates on one corpus only and lists "cross-corpus evaluation on IEMOCAP and RAVDESS" as future
work. This module runs that experiment for any set of corpora and reports it as a matrix: row = the corpus a
model was trained on, column = the corpus it is tested on, cell = UAR over the shared classes. The diagonal
is the usual in-corpus result (A's own test split), the off-diagonal cells show how much of it survives a
change of speakers, recording conditions and elicitation. Explained in chapters/09_cross_corpus.py.

Which corpora
-------------
``cross.corpora`` lists prepared corpus folders (``sernet prepare``) as ``name=path``, e.g.::

    sernet ... --set cross.corpora=ravdess=/data/prepared/ravdess,iemocap=/data/prepared/iemocap

Empty (the smoke default): two synthetic corpora. ``synth_a`` is the configured synthetic corpus (the one
every chapter uses); ``synth_b`` differs in three ways a second real corpus would: another speaker pool
(``cross.b_seed``), more and louder background noise (``cross.b_noise_fraction``, ``cross.b_snr_db_range``)
and a band-limited recording channel (:func:`apply_channel`, ``cross.b_band_hz``: a telephone band).

The protocol
------------
* **Shared classes**: the classes with utterances in the train *and* test splits of every corpus
  (:func:`shared_classes`); for real corpora prepared with ``--labels paper8`` they follow from the
  preparers' label maps (RAVDESS ∩ IEMOCAP = angry, happy, sad, neutral).
* **Training**: one model per corpus, on its train split restricted to the shared classes, with the
  whole ``cfg`` (early stopping on its own validation split). Runs are cached under
  ``$SERNET_HOME/runs/cross-<corpus>-<key>``; the configured corpus over all its classes reuses the
  standard run (:func:`sernet.analysis.runs.run_path`, Chapter 5's model).
* **Testing**: each model on every corpus's ``cross.split`` split (shared classes only); the decision is
  the most probable *shared* class. Features are normalised with the training corpus's statistics
  (``cross.normalization="source"``, what a deployed model does) or with each test corpus's own
  train-split statistics (``"target"``, a simple unsupervised adaptation).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sernet import artifacts, progress, workspace
from sernet.config import Config, override
from sernet.errors import ConfigError, SernetError
from sernet.labels import EMOTIONS

CHANNEL_VERSION = 1
"""Bumped when :func:`apply_channel` changes what it writes (part of the channel corpus's cache key)."""

CHANNEL_COMPLETE = "channel.json"
NORMALIZATIONS: tuple[str, ...] = ("source", "target")


# --------------------------------------------------------------------------------------------- channel
def channel_filter(band_hz: Sequence[float], *, sample_rate_hz: int, order: int) -> np.ndarray | None:
    """Second-order sections of a Butterworth band-pass over ``band_hz`` (None when ``band_hz`` is (0, 0)).

    Raises ``ConfigError`` when the band is not ``0 < low < high < sample_rate_hz / 2``.
    """
    from scipy import signal

    low, high = (float(b) for b in band_hz)
    if low == 0 and high == 0:
        return None
    if not 0 < low < high < sample_rate_hz / 2:
        raise ConfigError(f"config cross.b_band_hz={tuple(band_hz)}: expected 0 < low < high < "
                          f"{sample_rate_hz / 2:g} Hz (or (0, 0) for no channel)")
    return signal.butter(order, [low, high], btype="bandpass", fs=sample_rate_hz, output="sos")


def apply_channel(manifest: str | Path, out_dir: str | Path, *, band_hz: Sequence[float], order: int,
                  sample_rate_hz: int) -> Path:
    """Copy a corpus through a band-limited recording channel; return the new manifest.

    Every WAV of ``manifest`` is filtered by a causal Butterworth band-pass (:func:`channel_filter`, as a
    telephone line would) and written under ``out_dir`` with the same relative path; the manifest keeps
    every column (ground truth included) and gains ``channel`` (e.g. ``"bandpass 300-3400 Hz"``).
    Idempotent: a finished copy (``out_dir/channel.json``) returns at once; files already written are
    skipped on a re-run.

    Parameters
    ----------
    manifest : path
        The source corpus (manifest CSV or its folder).
    out_dir : path
        The channel copy's folder (created).
    band_hz : (low, high)
        Pass band in Hz; ``(0, 0)`` copies the audio unfiltered.
    order : int
        Butterworth order.
    sample_rate_hz : int
        Rate the audio is read at (resampled when it differs) and written at.

    Returns
    -------
    Path
        ``out_dir/manifest.csv``.
    """
    from scipy import signal

    from sernet.data.audio import read_audio, write_wav
    from sernet.data.manifest import MANIFEST_NAME, manifest_path, read_manifest, write_manifest

    source = manifest_path(manifest)
    out = Path(out_dir)
    done = out / CHANNEL_COMPLETE
    if done.is_file() and (out / MANIFEST_NAME).is_file():
        return out / MANIFEST_NAME
    sos = channel_filter(band_hz, sample_rate_hz=sample_rate_hz, order=order)
    df = read_manifest(source)
    root = source.parent.resolve()
    new_paths = []
    for p in progress.bar(df["path"], total=len(df), desc="channel", unit="file"):
        p = Path(p)
        try:
            rel = p.resolve().relative_to(root)
        except ValueError:  # audio outside the corpus folder: keep its name under a flat folder
            rel = Path("audio") / p.name
        target = out / rel
        if not target.is_file():
            y = read_audio(p, sample_rate_hz=sample_rate_hz, resample=True, check=False)
            if sos is not None:
                y = signal.sosfilt(sos, y).astype(np.float32)
            write_wav(target, y, sample_rate_hz)
        new_paths.append(str(target))
    df["path"] = new_paths
    df["channel"] = "none" if sos is None else f"bandpass {band_hz[0]:g}-{band_hz[1]:g} Hz"
    path = write_manifest(df, out / MANIFEST_NAME)
    done.write_text(json.dumps({"source": str(source), "band_hz": list(band_hz), "order": order,
                                "sample_rate_hz": sample_rate_hz, "version": CHANNEL_VERSION}, indent=1))
    return path


# --------------------------------------------------------------------------------------------- corpora
@dataclass
class Corpus:
    """One corpus of the experiment: its name, manifest, feature cache and the config that made them."""

    name: str
    manifest: Path
    store: Any  # sernet.features.cache.FeatureStore
    description: str = ""


def synthetic_b_config(cfg: Config) -> Config:
    """``cfg`` with the synth section of the second synthetic corpus (``cross.b_*``)."""
    c = cfg.cross
    return override(cfg, {"synth.seed": c.b_seed, "synth.noise_fraction": c.b_noise_fraction,
                          "synth.snr_db_range": tuple(c.b_snr_db_range)})


def synthetic_manifests(cfg: Config, *, workers: int | None = None) -> dict[str, Path]:
    """``{"synth_a": ..., "synth_b": ...}``: the configured synthetic corpus and its cross-corpus twin
    (generated, and passed through the channel, on first use; cached under ``$SERNET_HOME/corpora``)."""

    plain = dataclasses.replace(cfg, data_root=None)
    a = workspace.corpus_manifest(plain, workers=workers)
    cfg_b = synthetic_b_config(plain)
    raw_b = workspace.corpus_manifest(cfg_b, workers=workers)
    c = cfg.cross
    key = artifacts.key({"source_manifest_sha256": artifacts.file_sha256(raw_b), "band_hz": list(c.b_band_hz),
                         "order": c.channel_order, "sample_rate_hz": cfg.features.sample_rate_hz,
                         "channel_version": CHANNEL_VERSION})
    out = workspace.home(cfg) / "corpora" / f"channel-{key}"
    with artifacts.locked(out):
        b = apply_channel(raw_b, out, band_hz=c.b_band_hz, order=c.channel_order,
                          sample_rate_hz=cfg.features.sample_rate_hz)
    return {"synth_a": a, "synth_b": b}


def parse_corpora(entries: Sequence[str]) -> dict[str, Path]:
    """``("name=path", ...)`` (or bare paths, named by their folder) -> ``{name: manifest path}``.

    Raises ``ConfigError`` for a duplicate name or a folder without ``manifest.csv``.
    """
    from sernet.data.manifest import manifest_path

    out: dict[str, Path] = {}
    for entry in entries:
        name, sep, path = entry.partition("=")
        if not sep:
            name, path = Path(entry).expanduser().name, entry
        name, path = name.strip(), Path(path.strip()).expanduser()
        if name in out:
            raise ConfigError(f"config cross.corpora: corpus name {name!r} appears twice")
        manifest = manifest_path(path)
        if not manifest.is_file():
            raise ConfigError(f"config cross.corpora: {manifest}: no manifest.csv; prepare the corpus first "
                              f"(sernet prepare CORPUS ROOT --out {path})")
        out[name] = manifest
    return out


def corpus_manifests(cfg: Config, *, workers: int | None = None) -> dict[str, Path]:
    """The corpora of the experiment: ``cross.corpora`` when set, else :func:`synthetic_manifests`."""
    if cfg.cross.corpora:
        manifests = parse_corpora(cfg.cross.corpora)
        if len(manifests) < 2:
            raise ConfigError(f"config cross.corpora={cfg.cross.corpora}: cross-corpus evaluation needs at "
                              "least two corpora")
        return manifests
    return synthetic_manifests(cfg, workers=workers)


def load_corpora(cfg: Config, *, workers: int | None = None) -> dict[str, Corpus]:
    """Every corpus of the experiment with its feature cache (extracted on first use)."""
    from sernet.features import cache

    corpora = {}
    for name, manifest in corpus_manifests(cfg, workers=workers).items():
        out = workspace.features_dir(cfg, manifest)
        with artifacts.locked(out):
            cache.extract_corpus(manifest, out, cfg, workers=workers)
        store = cache.FeatureStore.open(out)
        corpora[name] = Corpus(name, Path(manifest), store, describe_corpus(store))
    return corpora


def describe_corpus(store) -> str:
    """One line: utterances, speakers, and (when the manifest has them) noise and channel."""
    index = store.index
    parts = [f"{len(index)} utterances", f"{index['speaker'].nunique()} speakers"]
    if "snr_db" in index.columns:
        snr = pd.to_numeric(index["snr_db"], errors="coerce")
        parts.append(f"{snr.notna().mean():.0%} noisy" + (f" (median SNR {snr.median():.1f} dB)"
                                                          if snr.notna().any() else ""))
    if "channel" in index.columns:
        parts.append(f"channel {index['channel'].iloc[0]}")
    return ", ".join(parts)


# ------------------------------------------------------------------------------------------- the protocol
def shared_classes(stores: Mapping[str, Any], *, split: str = "test") -> tuple[str, ...]:
    """The classes with utterances in the train split and in ``split`` of every store, in the first store's
    class order (the paper's order for the synthetic corpora and MSP-Podcast; any corpus's own label set,
    ``classes.txt``, otherwise: classes are matched by name).

    Raises ``SernetError`` when fewer than two classes are shared (no classification left to evaluate).
    """
    first = next(iter(stores.values()), None)
    order = tuple(getattr(first, "classes", EMOTIONS)) if first is not None else EMOTIONS
    shared = set(order)
    for store in stores.values():
        index = store.index
        for s in ("train", split):
            shared &= set(index.loc[index["split"] == s, "label"])
    classes = tuple(e for e in order if e in shared)
    if len(classes) < 2:
        have = {name: sorted(set(s.index["label"])) for name, s in stores.items()}
        raise SernetError(f"cross-corpus: the corpora share {len(classes)} class(es) {list(classes)} in their "
                          f"train and {split} splits; need at least 2 (labels per corpus: {have})")
    return classes


def restrict(store, classes: Sequence[str]):
    """A view of ``store`` holding only the utterances labelled with ``classes`` (frames are shared)."""
    keep = store.index["label"].isin(list(classes)).to_numpy()
    return dataclasses.replace(store, index=store.index.loc[keep].reset_index(drop=True),
                               utterance_descriptors=store.utterance_descriptors.loc[keep].reset_index(drop=True))


def is_configured_corpus(cfg: Config, corpus: Corpus) -> bool:
    """Whether ``corpus`` is the corpus every other chapter trains on (``SERNET_DATA`` or the synthetic one)."""
    from sernet.data.manifest import manifest_path

    own = manifest_path(cfg.data_root) if cfg.data_root else workspace.synthetic_corpus_dir(cfg) / "manifest.csv"
    return Path(corpus.manifest).resolve() == Path(own).resolve()


def run_dir_for(cfg: Config, corpus: Corpus, classes: Sequence[str]) -> Path:
    """The cached run directory of a model of ``cfg`` trained on ``corpus`` restricted to ``classes``.

    When ``corpus`` is the configured corpus and ``classes`` are all of its classes, the training data is
    exactly the standard run's, so this is :func:`sernet.analysis.runs.run_path` (Chapter 5's cached run).
    """
    from sernet.analysis import runs

    if is_configured_corpus(cfg, corpus) and set(corpus.store.index["label"]) <= set(classes):
        return runs.run_path(cfg)
    identity = runs.run_identity(cfg, corpus.store, classes=classes)
    path = workspace.runs_dir(cfg) / f"cross-{corpus.name}-{artifacts.key(identity)}"
    artifacts.claim(path, identity, what="run")
    return path


def train_on(cfg: Config, corpus: Corpus, classes: Sequence[str], *, strategy=None):
    """Train (or load the cached run of) a model on ``corpus``'s shared-class utterances."""
    from sernet.train import train

    path = run_dir_for(cfg, corpus, classes)
    with artifacts.locked(path):
        return train(cfg, restrict(corpus.store, classes), path, strategy=strategy, verbose=0)


def evaluate_on(model, cfg: Config, store, classes: Sequence[str], *, norm_stats=None,
                model_classes: Sequence[str] | None = None,
                split: str = "test") -> dict[str, Any]:
    """Metrics (``sernet.analysis.metrics`` format, over ``classes``) of ``model`` on ``split`` of ``store``.

    The decision is the most probable of ``classes``; ``norm_stats=(mean, std)`` replaces the store's own
    normalisation (e.g. the training corpus's). ``model_classes`` names the model's outputs in order (its run's
    ``classes``; default the paper's 8); classes are matched by name, so the model and ``store`` may have
    different label sets.
    """
    from sernet.analysis.metrics import evaluate_predictions
    from sernet.train import predict_probabilities
    from sernet.train.batches import split_batches

    view = restrict(store, classes)
    if norm_stats is not None:
        view = dataclasses.replace(view, norm_mean=np.asarray(norm_stats[0], np.float32),
                                   norm_std=np.asarray(norm_stats[1], np.float32))
    if len(view.split_indices(split)) == 0:
        raise SernetError(f"{getattr(store, 'path', 'feature store')}: no {split!r} utterances of {list(classes)}")
    ds = split_batches(view, split, cfg, training=False)
    model_classes = tuple(EMOTIONS if model_classes is None else model_classes)
    missing = [c for c in classes if c not in model_classes]
    if missing:
        raise SernetError(f"cross-corpus: the model has no output for {missing} (its classes: {list(model_classes)})")
    columns = [model_classes.index(c) for c in classes]
    probs = predict_probabilities(model, ds)[:, columns]
    target_classes = tuple(getattr(store, "classes", EMOTIONS))
    lookup = {target_classes.index(c): i for i, c in enumerate(classes)}
    y_true = np.array([lookup[int(v)] for v in np.asarray(view.labels)[ds.order]])
    return evaluate_predictions(y_true, probs.argmax(axis=1), classes=tuple(classes))


@dataclass
class CrossCorpusResult:
    """The matrix and everything behind it.

    Attributes
    ----------
    classes : tuple of str
        The shared classes every cell is computed over.
    metrics : dict
        ``(train corpus, test corpus) -> metrics dict`` (``sernet.analysis.metrics`` format).
    corpora : dict
        Corpus name -> one-line description.
    runs : dict
        Corpus name -> the run directory of the model trained on it.
    normalization : str
        ``"source"`` or ``"target"`` (see the module docstring).
    """

    classes: tuple[str, ...]
    metrics: dict[tuple[str, str], dict[str, Any]]
    corpora: dict[str, str]
    runs: dict[str, Path] = field(default_factory=dict)
    normalization: str = "source"

    def matrix(self, metric: str = "uar") -> pd.DataFrame:
        """Rows: trained on; columns: tested on; values: ``metric`` (a fraction)."""
        names = list(self.corpora)
        data = [[self.metrics[(a, b)][metric] for b in names] for a in names]
        frame = pd.DataFrame(data, index=pd.Index(names, name="trained on"),
                             columns=pd.Index(names, name="tested on"))
        return frame

    def transfer_gap(self, metric: str = "uar") -> pd.DataFrame:
        """Per training corpus: in-corpus ``metric``, mean out-of-corpus ``metric``, and their difference."""
        m = self.matrix(metric)
        rows = {}
        for a in m.index:
            others = [m.loc[a, b] for b in m.columns if b != a]
            rows[a] = {"in_corpus": m.loc[a, a], "cross_corpus": float(np.mean(others)),
                       "drop": m.loc[a, a] - float(np.mean(others))}
        return pd.DataFrame.from_dict(rows, orient="index")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: classes, normalisation, corpora, and the UAR/WAR/macro-F1 matrices."""
        return {"classes": list(self.classes), "normalization": self.normalization, "corpora": self.corpora,
                **{metric: self.matrix(metric).to_dict(orient="index") for metric in ("uar", "war", "macro_f1")}}


def cross_corpus_matrix(cfg: Config, *, corpora: Mapping[str, Corpus] | None = None, workers: int | None = None,
                        strategy=None) -> CrossCorpusResult:
    """Train one model per corpus and test each on every corpus (see the module docstring).

    Parameters
    ----------
    cfg : Config
        The experiment (``cross`` section, and ``features``/``model``/``train`` for every model).
    corpora : mapping, optional
        Precomputed :func:`load_corpora` output.
    workers : int, optional
        Processes for corpus generation and feature extraction.
    strategy : optional
        Passed to :func:`sernet.train.train` (see :mod:`sernet.distribute`).

    Returns
    -------
    CrossCorpusResult
    """
    if cfg.cross.normalization not in NORMALIZATIONS:
        raise ConfigError(f"config cross.normalization={cfg.cross.normalization!r}: expected one of "
                          f"{NORMALIZATIONS}")
    if corpora is None:
        corpora = load_corpora(cfg, workers=workers)
    split = cfg.cross.split
    stores = {name: c.store for name, c in corpora.items()}
    classes = shared_classes(stores, split=split)
    metrics: dict[tuple[str, str], dict[str, Any]] = {}
    runs: dict[str, Path] = {}
    for a, corpus in progress.bar(list(corpora.items()), desc="cross-corpus", unit="model"):
        result = train_on(cfg, corpus, classes, strategy=strategy)
        runs[a] = result.run_dir.path
        model = result.load_model()
        source_stats = result.run_dir.read_norm_stats()
        for b, target in corpora.items():
            stats = source_stats if (cfg.cross.normalization == "source" or a == b) else None
            metrics[(a, b)] = evaluate_on(model, cfg, target.store, classes, norm_stats=stats, split=split,
                                          model_classes=result.run_dir.read_classes())
    return CrossCorpusResult(classes=classes, metrics=metrics,
                             corpora={name: c.description for name, c in corpora.items()}, runs=runs,
                             normalization=cfg.cross.normalization)


__all__ = [
    "CHANNEL_VERSION", "Corpus", "CrossCorpusResult", "apply_channel", "channel_filter",
    "corpus_manifests", "cross_corpus_matrix", "evaluate_on", "is_configured_corpus", "load_corpora", "parse_corpora", "restrict",
    "run_dir_for", "shared_classes", "synthetic_b_config", "synthetic_manifests", "train_on",
]
