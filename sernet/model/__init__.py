"""SER-Net in Keras 3 (``keras.ops`` only: TensorFlow, JAX and PyTorch backends), its Table 4.3 baselines
and its cost accounting.

Importing this package imports Keras (quietly, through :func:`sernet.backend.keras`).

Public API::

    build_sernet(cfg)                 the model of ``cfg.model`` (SER-Net Base/Large, ablations, baselines)
    unmasked_twin(model, cfg)         the same model and weights without the mask input (full windows)
    attention_weights(model, batch)   temporal pooling weights [B, T]
    sernet.model.cost                 parameter_table, flops_per_utterance, receptive_field
    layers                            FeatureGroup, MelProjection, MultiScaleDilatedConv, ResidualBlock,
                                      MaskedSelfAttention, TemporalAttentionPooling, MaskedMeanPooling,
                                      MaskedConvBlock

Backends: the tests run every layer on TensorFlow and JAX (``KERAS_BACKEND=jax``). PyTorch is not
installed in CI (a multi-GB wheel); the layers use nothing backend-specific, so
``pip install torch && KERAS_BACKEND=torch python -m pytest tests/test_model.py`` is the way to check it.
"""

from __future__ import annotations

from sernet.model.attention_pooling import MaskedMeanPooling, TemporalAttentionPooling
from sernet.model.baselines import MaskedConvBlock, MaskToBool
from sernet.model.builder import (
    ARCHITECTURES,
    POOLING_LAYER,
    VARIANTS,
    attention_weights,
    build_sernet,
    effective_model_config,
    unmasked_twin,
)
from sernet.model.frontend import FeatureGroup, MelProjection
from sernet.model.multiscale_conv import MultiScaleDilatedConv
from sernet.model.residual import ResidualBlock
from sernet.model.self_attention import MaskedSelfAttention

__all__ = [
    "ARCHITECTURES",
    "POOLING_LAYER",
    "VARIANTS",
    "FeatureGroup",
    "MaskToBool",
    "MaskedConvBlock",
    "MaskedMeanPooling",
    "MaskedSelfAttention",
    "MelProjection",
    "MultiScaleDilatedConv",
    "ResidualBlock",
    "TemporalAttentionPooling",
    "attention_weights",
    "build_sernet",
    "effective_model_config",
    "unmasked_twin",
]
