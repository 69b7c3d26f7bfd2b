"""sernet: a notebook-first, honest reproduction of SER-Net for speech emotion recognition.

Stages (data flows top to bottom; see ``../shared/design/README.md``)::

    sernet.data      corpora -> one manifest; the synthetic emotional-speech generator
    sernet.features  audio -> 268 stored frame features (180 model inputs) + mask; corpus cache
    sernet.model     Keras 3 layers, build_sernet(config), baselines, ablation switches
    sernet.losses    focal loss, class weights
    sernet.train     fit loop, schedule, augmentation, checkpoints, run directory
    sernet.analysis.metrics   UAR / WAR / macro-F1 (scikit-learn)
    sernet.infer     prediction, streaming; sernet.export; sernet.bench

Heavy modules (TensorFlow/Keras) are imported lazily: ``import sernet`` is fast.
"""

from __future__ import annotations

import warnings

from sernet import config, labels
from sernet.labels import EMOTIONS, NUM_CLASSES

# librosa -> pooch imports tqdm.auto, which warns on stderr inside Jupyter without ipywidgets.
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"
__all__ = ["EMOTIONS", "NUM_CLASSES", "config", "labels", "__version__"]
