"""Frame features for SER-Net (paper §3.1): spectral (librosa) + prosodic (Praat via parselmouth).

- :func:`extract_frame_features` — one utterance → float32 [T, 268] (:mod:`sernet.features.layout`).
- :func:`utterance_descriptors` — the paper's 11 prosodic/voice-quality descriptors (+ voiced/pause fraction).
- :func:`pad_or_crop`, :func:`fit_normalization`, :func:`normalize` — fixed-length windows and z-scores.
- :mod:`sernet.features.cache` — the corpus feature cache (``extract_corpus``, ``FeatureStore``).

Explained in chapters/02_features.py.
"""

from __future__ import annotations

from sernet.features import layout
from sernet.features.extract import extract_frame_features, extract_utterance, utterance_descriptors
from sernet.features.normalize import fit_normalization, normalize, pad_or_crop

__all__ = [
    "extract_frame_features",
    "extract_utterance",
    "fit_normalization",
    "layout",
    "normalize",
    "pad_or_crop",
    "utterance_descriptors",
]
