"""``plots.streaming_estimates``: the streamed estimate never shares a colour with a class."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sernet import plots  # noqa: E402
from sernet.labels import EMOTIONS  # noqa: E402


def test_class_colours_are_distinct_and_never_black_or_grey():
    colours = plots.class_colours(EMOTIONS)
    rgb = [mcolors.to_rgb(c) for c in colours.values()]
    assert len(set(rgb)) == len(EMOTIONS)
    assert all(np.ptp(c) > 0.1 for c in rgb)  # not black, white or grey (equal channels)
    assert len(set(plots.class_colours([f"c{i}" for i in range(12)]).values())) == 12


def test_streaming_estimates_draws_the_estimate_in_black_and_classes_in_their_colours():
    sr, classes = 100, list(EMOTIONS)
    truth = np.repeat([3, 0, 2], 200)
    times = np.arange(0.5, 6.0, 0.5)
    estimate = np.array([3, 3, 3, 0, 0, -1, 0, 2, 2, 2, 2])
    probs = np.full((len(times), len(classes)), 1 / len(classes))
    fig = plots.streaming_estimates(times_s=times, estimate=estimate, probabilities=probs, truth=truth,
                                    sample_rate_hz=sr, classes=classes)
    top, bottom = fig.axes[:2]
    colours = {mcolors.to_rgb(c) for c in plots.class_colours(classes).values()}
    estimate_line = next(ln for ln in top.get_lines() if ln.get_label().startswith("streamed estimate"))
    assert mcolors.to_rgb(estimate_line.get_color()) == (0.0, 0.0, 0.0)
    assert {mcolors.to_rgb(ln.get_color()) for ln in bottom.get_lines()} == colours
    bands = top.collections  # one band per true segment, in its class's colour
    assert len(bands) == 3 and {mcolors.to_rgb(b.get_colors()[0][:3]) for b in bands} <= colours
    assert [t.get_text() for t in top.get_yticklabels()] == classes
    plt.close(fig)
