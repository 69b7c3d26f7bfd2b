"""The tiny model widths shared by tests that need a real but fast SER-Net (``config.override`` keys)."""

TINY_MODEL = {
    "model.conv_filters": (8, 8, 8),
    "model.channels": 16,
    "model.residual_blocks": 1,
    "model.attention_heads": 2,
    "model.pooling_units": 8,
    "model.dense_units": 16,
}
