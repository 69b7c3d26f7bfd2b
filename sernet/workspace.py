"""Where the pipeline's artefacts live, and the cache-aware entry points chapters and the CLI share.

Everything is under ``cfg.home`` (``$SERNET_HOME``, default ``~/.cache/sernet``)::

    corpora/synthetic-<key>/      the synthetic corpus (WAVs + manifest.csv), when no SERNET_DATA
    features/<key>/               the feature cache of a corpus (see sernet.features.cache)
    runs/<name>/                  training runs (see sernet.train)

Keys come from :mod:`sernet.artifacts` (content, not paths): the synthetic corpus by its recipe, a feature
cache by its manifest's content and extraction recipe, so a changed generator, feature recipe or a corpus
re-prepared in place never reads back a stale cache.
"""

from __future__ import annotations

from pathlib import Path

from sernet import artifacts
from sernet.config import Config


def home(cfg: Config) -> Path:
    path = Path(cfg.home).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def synthetic_corpus_dir(cfg: Config) -> Path:
    from sernet.data import synthetic

    key = artifacts.key(artifacts.synthetic_corpus_identity(cfg, synthetic.GENERATOR_VERSION))
    return home(cfg) / "corpora" / f"synthetic-{key}"


def corpus_manifest(cfg: Config, *, workers: int | None = None) -> Path:
    """The manifest of the configured corpus: ``$SERNET_DATA/manifest.csv``, else the synthetic corpus
    (generated on first use; later calls return at once)."""
    from sernet.data.manifest import manifest_path

    if cfg.data_root:
        return manifest_path(cfg.data_root)
    from sernet.data import synthetic

    out = synthetic_corpus_dir(cfg)
    with artifacts.locked(out):
        return synthetic.generate_corpus(out, cfg, workers=workers)


def data_identity(cfg: Config, manifest: str | Path) -> dict:
    """The identity of the feature cache of ``manifest`` under ``cfg`` (:func:`sernet.artifacts.features_identity`),
    computed from the manifest's content without extracting anything; equal to ``FeatureStore.identity()`` of
    that cache once extracted."""
    from sernet.data.manifest import manifest_path
    from sernet.features import cache

    digest = cache.manifest_sha256(manifest_path(manifest))
    return artifacts.features_identity(digest, cache.extraction_fingerprint(cfg), cache.FEATURES_VERSION)


def features_dir(cfg: Config, manifest: str | Path) -> Path:
    """``$SERNET_HOME/features/<key of data_identity(cfg, manifest)>``: a corpus re-prepared in place (other
    manifest content) gets another cache."""
    return home(cfg) / "features" / artifacts.key(data_identity(cfg, manifest))


def feature_store(cfg: Config, *, workers: int | None = None):
    """The feature cache of the configured corpus (extracted on first use) as a ``FeatureStore``."""
    from sernet.features import cache

    manifest = corpus_manifest(cfg, workers=workers)
    out = features_dir(cfg, manifest)
    with artifacts.locked(out):
        cache.extract_corpus(manifest, out, cfg, workers=workers)
    return cache.FeatureStore.open(out)


def runs_dir(cfg: Config) -> Path:
    path = home(cfg) / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path
