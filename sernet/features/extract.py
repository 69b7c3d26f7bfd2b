"""The whole per-frame pipeline: audio → float32 [T, 268] in :data:`sernet.features.layout.FEATURE_NAMES` order.

``T = 1 + len(y) // hop_length``: frame ``k`` is centred on sample ``k * hop`` for the spectral *and* the
prosodic columns (see :mod:`sernet.features.spectral`, :mod:`sernet.features.prosody`). Utterance-level
prosodic descriptors are repeated on every frame (the broadcast rule of the layout table in
:mod:`sernet.features.layout`).

Explained in chapters/02_features.py.
"""

from __future__ import annotations

import numpy as np

from sernet.config import FeatureConfig
from sernet.data.audio import validate_audio
from sernet.errors import AudioError
from sernet.features.layout import N_STORED, PROSODY_UTTERANCE_NAMES
from sernet.features.prosody import prosodic_features
from sernet.features.spectral import spectral_features


def extract_utterance(y: np.ndarray, fcfg: FeatureConfig, *, source: str = "<array>"
                      ) -> tuple[np.ndarray, dict[str, float]]:
    """Frame features and utterance descriptors of one utterance in one pass.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio at ``fcfg.sample_rate_hz``.
    fcfg : FeatureConfig
    source : str
        Name used in error messages (the file path).

    Returns
    -------
    frames : np.ndarray [shape=(1 + n // hop, 268), dtype=float32]
        All finite.
    descriptors : dict
        See :func:`sernet.features.prosody.prosodic_features`.

    Raises
    ------
    AudioError
        Whatever :func:`sernet.data.audio.validate_audio` rejects (``not_mono``, ``empty``, ``non_finite``,
        ``too_short``, ``silent``), or ``non_finite_features`` if a feature came out NaN/Inf.
    """
    y = np.asarray(validate_audio(y, sample_rate_hz=fcfg.sample_rate_hz, source=source), dtype=np.float32)
    mfcc, mel = spectral_features(y, fcfg)
    pros, descriptors = prosodic_features(y, fcfg)
    utt = np.array([descriptors[k] for k in PROSODY_UTTERANCE_NAMES], dtype=np.float32)
    frames = np.concatenate([mfcc, mel, pros, np.broadcast_to(utt, (len(pros), len(utt)))], axis=1)
    assert frames.shape[1] == N_STORED, frames.shape
    if not np.all(np.isfinite(frames)):
        bad = sorted({int(c) for c in np.nonzero(~np.isfinite(frames))[1]})
        raise AudioError(source, "non_finite_features", f"NaN/Inf in feature columns {bad[:10]}")
    return np.ascontiguousarray(frames, dtype=np.float32), descriptors


def extract_frame_features(y: np.ndarray, fcfg: FeatureConfig) -> np.ndarray:
    """Per-frame features of ``y``: float32 [1 + len(y) // hop, 268] in ``layout.FEATURE_NAMES`` order.

    Examples
    --------
    >>> import librosa, sernet
    >>> fcfg = sernet.config.load("smoke").features
    >>> extract_frame_features(librosa.tone(220, sr=16000, duration=1.0), fcfg).shape
    (101, 268)
    """
    return extract_utterance(y, fcfg)[0]


def utterance_descriptors(y: np.ndarray, fcfg: FeatureConfig) -> dict[str, float]:
    """The paper's 11 utterance descriptors plus voiced and pause fractions (and ``f0_mean_hz``,
    ``n_syllables``) of ``y``; see :mod:`sernet.features.prosody` for their definitions."""
    y = validate_audio(y, sample_rate_hz=fcfg.sample_rate_hz)
    return prosodic_features(np.asarray(y, dtype=np.float32), fcfg)[1]
