"""Where the pipeline's artefacts live, and the cache-aware entry points chapters and the CLI share.

Everything is under ``cfg.home`` (``$SERNET_HOME``, default ``~/.cache/sernet``)::

    corpora/synthetic-<key>/      the synthetic corpus (WAVs + manifest.csv), when no SERNET_DATA
    features/<key>/               the feature cache of a corpus (see sernet.features.cache)
    runs/<name>/                  training runs (see sernet.train)

Keys hash the config sections that decide the content plus the code version of the stage that made it,
so a changed generator or feature recipe never reads back a stale cache.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sernet.config import Config


def home(cfg: Config) -> Path:
    path = Path(cfg.home).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12]


def synthetic_corpus_dir(cfg: Config) -> Path:
    from sernet.data import synthetic

    key = _key(cfg.fingerprint("synth"), cfg.features.sample_rate_hz, synthetic.GENERATOR_VERSION)
    return home(cfg) / "corpora" / f"synthetic-{key}"


def corpus_manifest(cfg: Config, *, workers: int | None = None) -> Path:
    """The manifest of the configured corpus: ``$SERNET_DATA/manifest.csv``, else the synthetic corpus
    (generated on first use; later calls return at once)."""
    from sernet.data.manifest import manifest_path

    if cfg.data_root:
        return manifest_path(cfg.data_root)
    from sernet.data import synthetic

    out = synthetic_corpus_dir(cfg)
    return synthetic.generate_corpus(out, cfg, workers=workers)


def features_dir(cfg: Config, manifest: Path) -> Path:
    from sernet.features import cache

    key = _key(Path(manifest).resolve(), cache.extraction_fingerprint(cfg), cache.FEATURES_VERSION)
    return home(cfg) / "features" / key


def feature_store(cfg: Config, *, workers: int | None = None):
    """The feature cache of the configured corpus (extracted on first use) as a ``FeatureStore``."""
    from sernet.features import cache

    manifest = corpus_manifest(cfg, workers=workers)
    out = features_dir(cfg, manifest)
    cache.extract_corpus(manifest, out, cfg, workers=workers)
    return cache.FeatureStore.open(out)


def runs_dir(cfg: Config) -> Path:
    path = home(cfg) / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path
