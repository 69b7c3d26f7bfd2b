"""Artefact identity in one place: what a corpus, a feature cache or a training run *is*, as content.

Every cached artefact under ``$SERNET_HOME`` is found through a key computed here, and carries the identity
the key was computed from (``identity.json``), so that reading it back can check it is what the caller asked
for::

    corpora/synthetic-<key>/   key of the generator recipe: the ``synth`` section, the sample rate, the
                               generator version (the recipe decides the content)
    features/<key>/            key of the *manifest's content* (SHA-256 of ``manifest.csv``), the extraction
                               recipe (the feature settings that change the numbers) and the feature code
                               version; ``complete.json`` inside repeats them and is checked when opened
    runs/<arch>-seed<s>-<key>  key of the data identity (the feature cache's, above), the label set, the
                               ``features``/``model``/``train`` sections (scheduling fields left out), the
                               code versions and the Keras backend; ``identity.json`` inside is checked on
                               resume and when a finished run is read back

Because the keys hash content, not paths, a corpus re-prepared in place (same folder, another split or label
map) gets another feature cache and other runs: a model is never evaluated on a test split that now holds its
training speakers. A changed config never reads back a run trained under another. The stage that owns an
artefact passes its own code version in (``sernet.data.synthetic.GENERATOR_VERSION``,
``sernet.features.cache.FEATURES_VERSION``, ``sernet.train.TRAINER_VERSION``), so this module imports no stage.

Examples
--------
>>> key({"a": 1, "b": [1, 2]}) == key({"b": [1, 2], "a": 1})      # canonical JSON: order does not matter
True
>>> len(key({"a": 1}))
12
>>> differences({"model": {"dropout": 0.1}, "seed": 0}, {"model": {"dropout": 0.2}, "seed": 0})
['model.dropout: 0.1 != 0.2']
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sernet.errors import SernetError

IDENTITY_FILE = "identity.json"
KEY_LENGTH = 12
# Fields of ``train`` that say how runs are scheduled, not what they compute: left out of run identities.
SCHEDULING_FIELDS: tuple[str, ...] = ("grid_workers", "ablation_seeds")


class StaleArtifactError(SernetError):
    """An artefact on disk was made from other inputs than the ones asked for (names the fields)."""


# ------------------------------------------------------------------------------------------------ hashing
def canonical_json(payload: Any) -> str:
    """``payload`` as JSON with sorted keys and no whitespace (tuples as lists, paths as strings)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def digest(payload: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``payload``."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def key(payload: Any, length: int = KEY_LENGTH) -> str:
    """A short key (the first ``length`` hex digits of :func:`digest`) for folder names."""
    return digest(payload)[:length]


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_bytes), b""):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------ atomic writes
def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace`` (never a torn file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: str | Path, text: str) -> None:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | Path, payload: Any) -> None:
    """:func:`atomic_write_text` of indented JSON."""
    atomic_write_text(path, json.dumps(payload, indent=1, sort_keys=True, default=str))


# -------------------------------------------------------------------------------------------------- locks
@contextlib.contextmanager
def locked(folder: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on the artefact ``folder`` while building or reading it.

    Two processes that ask for the same artefact (two notebooks run in parallel, two array jobs of a scheduler
    on one node) then build it once: the second waits and finds it finished. The lock is an advisory
    ``flock`` on the sibling file ``.<name>.lock`` (it survives deleting the folder); where ``fcntl`` is not
    available (Windows) this is a no-op.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(folder.parent / f".{folder.name}.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# ----------------------------------------------------------------------------------------------- identities
def _plain(value: Any) -> Any:
    """JSON-shaped copy (tuples → lists) so that identities compare equal after a round trip through disk."""
    return json.loads(canonical_json(value))


def synthetic_corpus_identity(cfg, generator_version: int) -> dict[str, Any]:
    """The recipe of a synthetic corpus (the generator is deterministic, so the recipe decides the content)."""
    return _plain({"synth": cfg.to_dict()["synth"], "sample_rate_hz": cfg.features.sample_rate_hz,
                   "generator_version": generator_version})


def extraction_recipe(cfg, use_only_fields: Sequence[str]) -> dict[str, Any]:
    """The ``features`` settings that change the extracted numbers (``use_only_fields`` left out)."""
    return _plain({k: v for k, v in cfg.to_dict()["features"].items() if k not in use_only_fields})


def features_identity(manifest_sha256: str, recipe_fingerprint: str, features_version: int) -> dict[str, Any]:
    """The identity of a feature cache: the manifest's content, the extraction recipe, the code version.

    The keys are those ``complete.json`` of a finished cache records (``sernet.features.cache``), so the
    identity of a corpus not yet extracted equals that of its cache once extracted.
    """
    return {"manifest_sha256": str(manifest_sha256), "features_fingerprint": str(recipe_fingerprint),
            "version": int(features_version)}


def run_identity(cfg, data: Mapping[str, Any], classes: Sequence[str], code_versions: Mapping[str, Any],
                 backend: str) -> dict[str, Any]:
    """Everything that decides a run's result.

    Parameters
    ----------
    cfg : Config
        Its ``features``, ``model`` and ``train`` sections (without :data:`SCHEDULING_FIELDS`) enter; so does
        ``classic`` for the eGeMAPS + SVM baseline, and ``synth`` when the data is the synthetic corpus.
    data : mapping
        The data identity: :func:`features_identity` of the corpus, or ``FeatureStore.identity()``.
    classes : sequence of str
        The label set in model-output order.
    code_versions : mapping
        The code versions of the stages the run depends on (e.g. ``{"trainer": 3, "generator": 2}``).
    backend : str
        The Keras backend (``tensorflow``, ``jax``).
    """
    sections = cfg.to_dict()
    train = {k: v for k, v in sections["train"].items() if k not in SCHEDULING_FIELDS}
    payload: dict[str, Any] = {"data": dict(data), "classes": [str(c) for c in classes],
                               "features": sections["features"], "model": sections["model"], "train": train,
                               "code_versions": dict(code_versions), "backend": backend}
    if cfg.data_root is None:
        payload["synth"] = sections["synth"]
    if cfg.model.architecture == "egemaps_svm":
        payload["classic"] = sections.get("classic")
    return _plain(payload)


# -------------------------------------------------------------------------------------- write and check
def read_identity(folder: str | Path) -> dict[str, Any] | None:
    """The ``identity.json`` of ``folder``, or None when it has none."""
    path = Path(folder) / IDENTITY_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SernetError(f"{path}: unreadable artefact identity ({exc}); delete the folder to rebuild it") from None


def differences(found: Any, wanted: Any, prefix: str = "") -> list[str]:
    """The dotted paths at which two identities differ, with both values (for error messages)."""
    if isinstance(found, Mapping) and isinstance(wanted, Mapping):
        out: list[str] = []
        for k in sorted(set(found) | set(wanted)):
            name = f"{prefix}.{k}" if prefix else str(k)
            if k not in found or k not in wanted:
                out.append(f"{name}: {'absent' if k not in found else found[k]!r} != "
                           f"{'absent' if k not in wanted else wanted[k]!r}")
            else:
                out.extend(differences(found[k], wanted[k], name))
        return out
    return [] if found == wanted else [f"{prefix or 'value'}: {found!r} != {wanted!r}"]


def claim(folder: str | Path, identity: Mapping[str, Any], *, what: str = "artefact") -> None:
    """Record ``identity`` in ``folder`` (first use) or check the one recorded there.

    Raises
    ------
    StaleArtifactError
        When ``folder`` holds an artefact of another identity (the message names the folder and the fields
        that differ, at most five, and says how to proceed), or holds files but no recorded identity.
    """
    folder = Path(folder)
    wanted = _plain(identity)
    found = read_identity(folder)
    if found is None:
        if folder.is_dir() and any(folder.iterdir()):
            raise StaleArtifactError(
                f"{folder}: this {what} folder holds files but records no identity ({IDENTITY_FILE}; made by an "
                "older sernet or by hand), so what it was made from cannot be checked; it is not reused. Use "
                "another folder, or delete this one to rebuild it")
        atomic_write_json(folder / IDENTITY_FILE, wanted)
        return
    diff = differences(found, wanted)
    if diff:
        shown = "; ".join(diff[:5]) + (f"; ... {len(diff) - 5} more" if len(diff) > 5 else "")
        raise StaleArtifactError(
            f"{folder}: this {what} was made from other inputs ({shown}); it is not reused. Use another "
            f"folder, or delete this one to rebuild it")


__all__ = [
    "IDENTITY_FILE", "KEY_LENGTH", "SCHEDULING_FIELDS", "StaleArtifactError", "atomic_write_bytes",
    "atomic_write_json", "atomic_write_text", "canonical_json", "claim", "differences", "digest",
    "extraction_recipe", "features_identity", "file_sha256", "key", "locked", "read_identity", "run_identity",
    "synthetic_corpus_identity",
]
