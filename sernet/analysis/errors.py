"""Errors by cause (the paper's §5.3) on a corpus whose causes are known facts of each utterance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sernet import paper


def synthetic_causes(index: pd.DataFrame, *, crop_s: float) -> pd.DataFrame:
    """The paper's §5.3 error causes as known facts of synthetic utterances (boolean columns).

    ``ambiguous``: drawn from a blend of two classes (``blend_label``); ``atypical speaker``: expressiveness
    outside the typical speakers' range; ``background noise``: noise added (``snr_db`` set); ``short``:
    shorter than the model's input window ``crop_s`` (``features.max_length`` frames), so the model sees
    padding where longer utterances fill the window — a duration threshold that does not depend on the
    window would call utterances "short" that the crop makes as long as any other. A cause whose
    ground-truth column the manifest lacks (a real corpus) is left out; ``short`` is always available.

    Examples
    --------
    >>> import pandas as pd
    >>> synthetic_causes(pd.DataFrame({"duration_s": [0.9, 1.5, 2.8]}), crop_s=1.5)["short"].tolist()
    [True, False, False]
    """
    from sernet.data.synthetic import TYPICAL_EXPRESSIVENESS

    causes = {}
    if "blend_label" in index:
        causes["ambiguous"] = index["blend_label"].fillna("").astype(str).str.len() > 0
    if "expressiveness" in index:
        expr = index["expressiveness"].astype(float)
        causes["atypical speaker"] = (expr < TYPICAL_EXPRESSIVENESS[0]) | (expr > TYPICAL_EXPRESSIVENESS[1])
    if "snr_db" in index:
        causes["background noise"] = pd.to_numeric(index["snr_db"], errors="coerce").notna()
    duration = index["duration_s"].astype(float)
    causes["short"] = duration < crop_s
    return pd.DataFrame(causes, index=index.index)


def errors_by_cause(predictions: pd.DataFrame, causes: pd.DataFrame) -> pd.DataFrame:
    """Error rate of utterances with and without each cause, and each cause's share of all errors.

    Parameters
    ----------
    predictions : DataFrame
        ``predictions.csv`` rows (``row``: store row, ``true``, ``predicted``).
    causes : DataFrame
        Boolean cause columns indexed by store row (:func:`synthetic_causes`).

    Returns
    -------
    pandas.DataFrame
        Index: cause; ``n`` (utterances with it), ``error_rate`` and ``error_rate_without`` (%), ``share_of_errors``
        (% of all errors that carry the cause; an error may carry several, so shares need not add to 100)
        and ``paper_share`` (§5.3).
    """
    wrong = (predictions["true"] != predictions["predicted"]).to_numpy()
    c = causes.loc[predictions["row"].to_numpy()].to_numpy(dtype=bool)
    paper_names = {"ambiguous": "Ambiguous Utterances", "atypical speaker": "Speaker Variability",
                   "background noise": "Background Noise", "short": "Short Utterances"}
    rows = []
    for j, name in enumerate(causes.columns):
        has = c[:, j]
        rows.append({"cause": name, "n": int(has.sum()),
                     "error_rate": 100 * wrong[has].mean() if has.any() else np.nan,
                     "error_rate_without": 100 * wrong[~has].mean() if (~has).any() else np.nan,
                     "share_of_errors": 100 * (wrong & has).sum() / max(1, wrong.sum()),
                     "paper_share": paper.ERROR_CATEGORIES_5_3.get(paper_names.get(name, ""), np.nan)})
    rows.append({"cause": "none of these", "n": int((~c.any(1)).sum()),
                 "error_rate": 100 * wrong[~c.any(1)].mean() if (~c.any(1)).any() else np.nan,
                 "error_rate_without": np.nan,
                 "share_of_errors": 100 * (wrong & ~c.any(1)).sum() / max(1, wrong.sum()), "paper_share": np.nan})
    return pd.DataFrame(rows).set_index("cause")
