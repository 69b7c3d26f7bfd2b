"""What SER-Net costs: parameters per layer, FLOPs per utterance, receptive fields.

Explained in chapters/03_architecture.py, where the numbers are set beside the paper's Table 6.2
(2.3 M / 8.7 M parameters) and §3.3 ("10 / 20 / 40 ms context").
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from sernet.config import Config
from sernet.errors import ConfigError


def _sublayers(layer) -> list:
    """The direct sub-layers a composite sernet layer keeps as attributes (in creation order)."""
    from sernet.backend import keras

    layer_cls = keras().layers.Layer
    found = []
    for value in vars(layer).values():
        items = value if isinstance(value, list | tuple) else [value]
        found += [v for v in items if isinstance(v, layer_cls) and v is not layer and v not in found]
    return found


def _shape_text(shape) -> str:
    dims = ["B" if i == 0 else ("T" if d is None else str(d)) for i, d in enumerate(shape)]
    return "(" + ", ".join(dims) + ")"


def _output_shape(layer) -> str:
    try:
        out = layer.output
    except (AttributeError, ValueError):
        return ""
    if isinstance(out, list | tuple):
        return " + ".join(_shape_text(o.shape) for o in out)
    return _shape_text(out.shape)


def parameter_table(model, *, expand: bool = False) -> pd.DataFrame:
    """Parameters of every layer of ``model``.

    Parameters
    ----------
    model : keras.Model
        A built model (e.g. from :func:`sernet.model.build_sernet`).
    expand : bool
        Also list the sub-layers of composite layers (indented rows, ``depth`` 1; their parameters are
        part of the parent's and must not be added again).

    Returns
    -------
    pandas.DataFrame
        Columns ``layer``, ``type``, ``depth``, ``output_shape`` (``B`` batch, ``T`` frames), ``params``,
        ``trainable``; one row per layer plus a final ``total`` row (depth-0 rows only).
    """
    rows = []
    for layer in model.layers:
        if not layer.weights and type(layer).__name__ == "InputLayer":
            continue
        rows.append({"layer": layer.name, "type": type(layer).__name__, "depth": 0,
                     "output_shape": _output_shape(layer), "params": layer.count_params(),
                     "trainable": sum(int(w.numpy().size) for w in layer.trainable_weights)})
        if expand:
            for sub in _sublayers(layer):
                rows.append({"layer": f"  {sub.name}", "type": type(sub).__name__, "depth": 1,
                             "output_shape": "", "params": sub.count_params(),
                             "trainable": sum(int(w.numpy().size) for w in sub.trainable_weights)})
    table = pd.DataFrame(rows)
    top = table[table.depth == 0]
    total = {"layer": "total", "type": "", "depth": 0, "output_shape": "",
             "params": int(top.params.sum()), "trainable": int(top.trainable.sum())}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def _kernel_macs(layer) -> int:
    """Multiply-accumulates per application of every kernel in ``layer`` (per frame for sequence layers):
    one MAC per kernel weight (Conv1D, Dense, EinsumDense, LSTM kernel and recurrent kernel)."""
    return sum(int(w.numpy().size) for w in layer.weights if w.path.rsplit("/", 1)[-1].endswith("kernel"))


def flops_per_utterance(cfg: Config, n_frames: int | None = None, *, model=None) -> pd.DataFrame:
    """Floating-point operations of one forward pass on one utterance of ``n_frames`` frames.

    Counted as 2 FLOPs per multiply-accumulate of the weight kernels (every Conv1D, Dense, attention
    projection and LSTM kernel; "same"-padded convolutions compute every tap) plus the attention
    products: ``2 · T² · channels`` MACs for self-attention (scores and weighted values) and ``T · C`` for
    a pooling's weighted sum. Biases, normalisation, activations and softmax (O(T · C)) are left out.

    Parameters
    ----------
    cfg : Config
        The model is built from ``cfg.model`` unless ``model`` is given.
    n_frames : int, optional
        Frames per utterance (default ``cfg.features.max_length``).
    model : keras.Model, optional
        An already built model of ``cfg`` (saves building one).

    Returns
    -------
    pandas.DataFrame
        Index: layer names plus ``"total"``; columns ``macs``, ``flops``, ``share`` (of the total).
    """
    from sernet.model.builder import build_sernet

    t = int(n_frames or cfg.features.max_length)
    if t < 1:
        raise ConfigError(f"n_frames must be positive, got {n_frames}")
    model = model if model is not None else build_sernet(cfg)
    rows = {}
    for layer in model.layers:
        macs = _kernel_macs(layer)
        if not macs and not layer.weights:
            if type(layer).__name__ != "MaskedMeanPooling":
                continue
        inputs = layer.input if not isinstance(layer.input, list | tuple) else layer.input[0]
        per_frame = len(inputs.shape) == 3
        macs *= t if per_frame else 1
        kind = type(layer).__name__
        if kind == "MaskedSelfAttention":
            macs += 2 * t * t * int(inputs.shape[-1])
        if kind in ("TemporalAttentionPooling", "MaskedMeanPooling"):
            macs += t * int(inputs.shape[-1])
        rows[layer.name] = macs
    table = pd.DataFrame({"macs": pd.Series(rows, dtype="int64")})
    table.loc["total"] = table["macs"].sum()
    table["flops"] = 2 * table["macs"]
    table["share"] = (table["macs"] / table.loc["total", "macs"]).round(3)
    return table


def receptive_field(kernel_size: int, dilation_rates, hop_ms: float, *, win_ms: float | None = None,
                    residual_blocks: int = 0, residual_kernel_size: int | None = None) -> pd.DataFrame:
    """Receptive field of each dilated branch and of the convolutional stack up to self-attention.

    A convolution of ``k`` taps and dilation ``d`` spans ``1 + (k - 1) d`` frames; stacked convolutions
    add ``(k - 1) d`` each. In time, ``n`` frames span ``(n - 1) · hop`` between the first and last frame
    centres, and ``(n - 1) · hop + win`` of audio. The paper's §3.3 figure ("10/20/40 ms") equals
    ``d · hop``: the spacing between taps, not the context.

    Parameters
    ----------
    kernel_size : int
        Taps of the dilated branches (``ModelConfig.kernel_size``).
    dilation_rates : sequence of int
        One per branch (``ModelConfig.dilation_rates``).
    hop_ms : float
        Frame hop (``FeatureConfig.hop_ms``).
    win_ms : float, optional
        Analysis window (``FeatureConfig.win_ms``); adds the audio column when given.
    residual_blocks : int
        Residual blocks after the branches (two undilated convolutions each).
    residual_kernel_size : int, optional
        Their taps (default ``kernel_size``).

    Returns
    -------
    pandas.DataFrame
        One row per branch and, with ``residual_blocks``, a ``stack`` row (the widest branch followed by
        the residual convolutions; self-attention after it sees the whole utterance). Columns
        ``dilation``, ``frames``, ``span_ms``, ``audio_ms`` (with ``win_ms``), ``paper_ms``.
    """
    if kernel_size < 1 or any(int(d) < 1 for d in dilation_rates):
        raise ConfigError(f"kernel_size {kernel_size} and dilation_rates {tuple(dilation_rates)} must be >= 1")
    rows = []
    for d in dilation_rates:
        frames = 1 + (kernel_size - 1) * int(d)
        rows.append({"block": f"branch d={d}", "dilation": int(d), "frames": frames, "paper_ms": d * hop_ms})
    if residual_blocks:
        rk = residual_kernel_size or kernel_size
        frames = max(r["frames"] for r in rows) + residual_blocks * 2 * (rk - 1)
        rows.append({"block": f"stack (+{residual_blocks} residual blocks)", "dilation": None,
                     "frames": frames, "paper_ms": None})
    table = pd.DataFrame(rows).set_index("block")
    table["dilation"] = table["dilation"].astype("Int64")
    table["span_ms"] = (table["frames"] - 1) * hop_ms
    if win_ms is not None:
        table["audio_ms"] = table["span_ms"] + win_ms
    return table[[c for c in ("dilation", "frames", "span_ms", "audio_ms", "paper_ms") if c in table]]


def parameters_by_kernel_size(cfg: Config, kernel_sizes) -> pd.Series:
    """Total parameters of ``cfg``'s model for each kernel size (every convolution's taps).

    Used to ask which kernel size the paper's 2.3 M parameters would need (the count is linear in it).
    """
    from sernet.model.builder import build_sernet

    counts = {}
    for k in kernel_sizes:
        model_cfg = dataclasses.replace(cfg.model, kernel_size=int(k))
        counts[int(k)] = build_sernet(dataclasses.replace(cfg, model=model_cfg)).count_params()
    return pd.Series(counts, name="params").rename_axis("kernel_size")


def kernel_size_for(cfg: Config, n_params: float) -> tuple[float, pd.Series]:
    """The (fractional) kernel size at which ``cfg``'s model would have ``n_params`` parameters.

    Parameters grow linearly with the kernel size ``k``: ``p(k) = a + b·k``; two builds give ``a`` and
    ``b``. Returns ``(k, counts)`` where ``counts`` are the two measured points.
    """
    counts = parameters_by_kernel_size(cfg, (1, 2))
    slope = counts[2] - counts[1]
    return (n_params - (counts[1] - slope)) / slope, counts


def matching_kernel_size(cfg: Config, n_params: float) -> int:
    """The whole kernel size whose model (``cfg``'s widths and depth) has the parameter count nearest ``n_params``.

    The count is linear in the kernel size (:func:`kernel_size_for`), so the nearest whole size is the
    fractional solution rounded half up, and at least 1. Chapter 3 finds ``k ≈ 16`` for the paper's
    2.3 M parameters (Table 6.2) at the paper's widths; Chapter 8 times that model beside ``k = 3``.

    Parameters
    ----------
    cfg : Config
        Its ``model`` section gives every width; only ``model.kernel_size`` is varied.
    n_params : float
        The parameter count to match (e.g. ``sernet.paper.TABLE_6_2["SER-Net Base"][0]``).

    Returns
    -------
    int
        The kernel size ``k >= 1`` minimising ``|parameters(k) - n_params|``.

    Raises
    ------
    ConfigError
        If ``n_params`` is not positive.

    Examples
    --------
    >>> cfg = sernet.config.load("full")                                       # doctest: +SKIP
    >>> matching_kernel_size(cfg, sernet.paper.TABLE_6_2["SER-Net Base"][0])    # doctest: +SKIP
    16
    """
    import math

    if not n_params > 0:
        raise ConfigError(f"n_params must be positive, got {n_params}")
    k, _ = kernel_size_for(cfg, n_params)
    return max(1, math.floor(k + 0.5))
