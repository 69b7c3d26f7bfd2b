"""sernet.analysis.metrics against scikit-learn on known predictions, tables, files, error paths."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

from sernet import paper
from sernet.analysis.metrics import (
    confusion_frame,
    evaluate_predictions,
    evaluate_probabilities,
    markdown_table,
    pair_confusions,
    per_class_table,
    results_table,
    save_metrics,
)
from sernet.errors import SernetError
from sernet.labels import EMOTIONS


@pytest.fixture
def known():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 8, 300)
    pred = np.where(rng.random(300) < 0.6, y, rng.integers(0, 8, 300))
    return y, pred


def test_hand_computed_example():
    # class 0: 1/1 right; class 1: 1/2 right; class 2: 1/1 right -> UAR (1 + .5 + 1) / 3, WAR 3/4
    m = evaluate_predictions([0, 1, 1, 2], [0, 1, 2, 2], n_classes=3)
    assert m["uar"] == pytest.approx(2.5 / 3)
    assert m["war"] == pytest.approx(0.75)
    assert m["per_class"]["sad"]["precision"] == pytest.approx(0.5)
    assert m["confusion"] == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


def test_matches_scikit_learn(known):
    y, pred = known
    m = evaluate_predictions(y, pred)
    assert m["uar"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["war"] == pytest.approx(accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    np.testing.assert_array_equal(m["confusion"], confusion_matrix(y, pred))
    recalls = [m["per_class"][e]["recall"] for e in EMOTIONS]
    assert np.mean(recalls) == pytest.approx(m["uar"])  # UAR is the mean per-class recall
    assert sum(m["per_class"][e]["support"] for e in EMOTIONS) == len(y) == m["n"]


def test_probabilities_use_the_argmax(known):
    y, pred = known
    probs = np.eye(8)[pred] * 0.9 + 0.0125
    assert evaluate_probabilities(y, probs)["uar"] == pytest.approx(evaluate_predictions(y, pred)["uar"])


def test_tables_put_the_paper_beside_ours(known):
    m = evaluate_predictions(*known)
    table = results_table({"SER-Net": m, "ours only": m})
    assert table.loc["SER-Net", "paper_UAR"] == paper.TABLE_4_3["SER-Net"][0]
    assert np.isnan(table.loc["ours only", "paper_UAR"])
    assert table.loc["SER-Net", "UAR"] == pytest.approx(round(100 * m["uar"], 1))
    pc = per_class_table(m)
    assert list(pc.index) == list(EMOTIONS)
    assert pc.loc["neutral", "paper_recall"] == paper.PER_CLASS["neutral"][1]
    md = markdown_table(table)
    assert md.splitlines()[0].startswith("| model | UAR") and "72.4" in md


def test_confusion_normalisation_and_paper_pairs(known):
    m = evaluate_predictions(*known)
    cm = confusion_frame(m, normalize=True)
    np.testing.assert_allclose(cm.sum(axis=1), 1.0)
    pairs = pair_confusions(m)
    assert len(pairs) == len(paper.CONFUSIONS_5_2)
    assert pairs.loc["happy <-> surprise", "a->b"] == pytest.approx(cm.loc["happy", "surprise"])
    assert pairs["rank"].between(1, 28).all()


def test_confusion_of_a_pair_made_to_be_confused_ranks_first():
    y = np.repeat(np.arange(8), 20)
    pred = y.copy()
    pred[(y == 1)[:]] = np.where(np.arange(20) < 8, 6, 1)  # happy -> surprise 8 of 20 times
    assert pair_confusions(evaluate_predictions(y, pred)).loc["happy <-> surprise", "rank"] == 1


def test_saved_files_round_trip(known, tmp_path):
    m = evaluate_predictions(*known)
    paths = save_metrics(m, tmp_path, prefix="test_")
    assert json.loads(paths["json"].read_text()) == m
    cm = pd.read_csv(paths["confusion"], index_col=0)
    np.testing.assert_array_equal(cm.to_numpy(), m["confusion"])
    pc = pd.read_csv(paths["per_class"], index_col=0)
    assert pc.loc["angry", "support"] == m["per_class"]["angry"]["support"]


@pytest.mark.parametrize(("y", "p", "match"), [([0, 1], [0], "equally long"), ([], [], "non-empty"),
                                                ([0, 9], [0, 1], "outside")])
def test_bad_inputs_raise(y, p, match):
    with pytest.raises(SernetError, match=match):
        evaluate_predictions(y, p)
