"""A block diagram of a built sernet model (matplotlib): one box per layer with its output shape and
parameter count, arrows for the data flow, the frame mask drawn as a side input. Used in
chapters/03_architecture.py."""

from __future__ import annotations

from sernet.model.cost import parameter_table


def architecture_diagram(model, ax=None, *, title: str | None = None):
    """Draw ``model``'s layers top to bottom; return the matplotlib Axes.

    Parallel branches of :class:`~sernet.model.MultiScaleDilatedConv` and the front end's groups are
    listed inside their box. Layers without parameters that only reshape (Dropout) are drawn small.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    table = parameter_table(model, expand=True)
    top = table[(table.depth == 0) & (table.layer != "total")].reset_index(drop=True)
    n = len(top)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.62 * n + 1.2))
    masked = {"MultiScaleDilatedConv", "ResidualBlock", "MaskedSelfAttention", "TemporalAttentionPooling",
              "MaskedMeanPooling", "MaskedConvBlock", "LSTM"}
    for i, row in top.iterrows():
        y = n - i
        children = table[(table.depth == 1) & (table.index > row.name)]
        label = f"{row.layer}  ({row.type})   {row.output_shape}   {row.params:,} params"
        if row.type == "MultiScaleDilatedConv":
            branches = [c.strip() for c in children.layer.iloc[: len(model.get_layer(row.layer).branches)]]
            label += "\n" + "  |  ".join(branches)
        color = "#dbe9f6" if row.params else "#f2f2f2"
        ax.add_patch(FancyBboxPatch((0.0, y - 0.36), 0.84, 0.72, boxstyle="round,pad=0.02", fc=color,
                                    ec="#4a6fa5"))
        ax.text(0.42, y, label, ha="center", va="center", fontsize=7.5)
        if i < n - 1:
            ax.annotate("", xy=(0.42, y - 0.62), xytext=(0.42, y - 0.38),
                        arrowprops={"arrowstyle": "->", "color": "#333333"})
        if row.type in masked:
            ax.annotate("", xy=(0.85, y), xytext=(0.93, y), arrowprops={"arrowstyle": "->", "color": "#c0504d"})
            ax.text(0.935, y, "mask", va="center", fontsize=7, color="#c0504d")
    ax.set_xlim(-0.02, 1.0)
    ax.set_ylim(0.4, n + 0.6)
    ax.axis("off")
    ax.set_title(title or f"{model.name}: {model.count_params():,} parameters", fontsize=10)
    return ax
