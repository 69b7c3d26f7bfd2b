"""Dimensional emotion end to end: generator truth, manifest columns, preparers, CCC, the multi-task model,
training, evaluation and prediction (issue 14)."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import pytest
from _train_fakes import FakeStore, tiny_cli_args, tiny_config
from fixtures_corpora import build_iemocap, build_msp_podcast

import sernet
from sernet.analysis.dimensions import concordance, dimension_intervals, dimension_metrics
from sernet.backend import keras
from sernet.data import synthetic
from sernet.data.audio import write_wav
from sernet.data.corpora import prepare
from sernet.data.manifest import DIMENSION_SCALE, DIMENSIONS, read_manifest
from sernet.errors import ManifestError, SernetError
from sernet.features import layout
from sernet.model import build_sernet
from sernet.model import dimensional_head as dh

K = keras()

# sha256 over the WAV files (sernet.data.audio.write_wav) of utterances 0-5 of the smoke corpus, computed with
# the generator at commit 49befa3 (GENERATOR_VERSION 2, before the dimensions were added). Adding the
# dimensions must not move any random draw that shapes the audio.
AUDIO_SHA256_V2 = "b1b921c78f52f62d34f5ca9f7277d0f4e560767e8cfb0787c1689f7b24a614dc"


def lin_ccc(t: np.ndarray, p: np.ndarray) -> float:
    """Lin (1989), written from the definition with NumPy's population covariance matrix."""
    c = np.cov(t, p, bias=True)
    return float(2 * c[0, 1] / (c[0, 0] + c[1, 1] + (t.mean() - p.mean()) ** 2))


# --------------------------------------------------------------------------------------------- generator
def test_generator_audio_is_byte_identical_to_version_2_and_carries_dimensions(tmp_path):
    cfg = sernet.config.load("smoke")
    h = hashlib.sha256()
    rows = []
    for i in range(6):
        y, p = synthetic.synthesize_utterance(i, cfg)
        path = tmp_path / f"{i}.wav"
        write_wav(path, y, cfg.features.sample_rate_hz)
        h.update(path.read_bytes())
        rows.append(p)
    assert h.hexdigest() == AUDIO_SHA256_V2
    assert synthetic.GENERATOR_VERSION == 3
    for p in rows:
        assert all(DIMENSION_SCALE[0] <= p[d] <= DIMENSION_SCALE[1] for d in DIMENSIONS)
    assert set(DIMENSIONS) <= set(synthetic.MANIFEST_COLUMNS)
    again = synthetic.synthesize_utterance(3, cfg)[1]
    assert [again[d] for d in DIMENSIONS] == [rows[3][d] for d in DIMENSIONS]  # deterministic


def test_dimensions_follow_centroids_and_cues():
    rng = np.random.default_rng(0)
    zero = {k: 0.0 for k in synthetic.DIMENSION_LOADINGS["arousal"]}
    # with no cue deviation and no noise the value is the centroid, scaled around neutral by expressiveness
    noiseless = dict(synthetic.DIMENSION_NOISE)
    try:
        for k in synthetic.DIMENSION_NOISE:
            synthetic.DIMENSION_NOISE[k] = 0.0
        d = synthetic.utterance_dimensions("angry", None, 0.0, 0.5, zero, rng)
        a, v, dom = synthetic.DIMENSION_CENTROIDS["angry"]
        n = synthetic.DIMENSION_NEUTRAL
        assert d == pytest.approx({"arousal": n + 0.5 * (a - n), "valence": n + 0.5 * (v - n),
                                   "dominance": n + 0.5 * (dom - n)})
        louder = synthetic.utterance_dimensions("neutral", None, 0.0, 1.0, {**zero, "level_db": 1.0}, rng)
        assert louder["arousal"] == pytest.approx(n + synthetic.DIMENSION_LOADINGS["arousal"]["level_db"])
        assert louder["valence"] == pytest.approx(n)  # valence carries no intensity cue
    finally:
        synthetic.DIMENSION_NOISE.update(noiseless)
    # the literature's placements: anger high A / low V / high D, sadness low on all three
    assert synthetic.DIMENSION_CENTROIDS["angry"][0] > 5 > 3 > synthetic.DIMENSION_CENTROIDS["angry"][1]
    assert max(synthetic.DIMENSION_CENTROIDS["sad"]) < synthetic.DIMENSION_NEUTRAL


# --------------------------------------------------------------------------------------- manifest, prepare
def test_manifest_rejects_out_of_scale_and_non_numeric_dimensions(tmp_path):
    wav = tmp_path / "a.wav"
    write_wav(wav, np.zeros(160, np.float32), 16000)
    base = {"path": [wav.name], "label": ["angry"], "speaker": ["s1"], "split": ["train"], "duration_s": [0.01]}
    for bad in (7.5, "high", math.inf):
        pd.DataFrame({**base, "arousal": [bad], "valence": [4.0], "dominance": [4.0]}).to_csv(
            tmp_path / "manifest.csv", index=False)
        with pytest.raises(ManifestError, match="arousal"):
            read_manifest(tmp_path)
    pd.DataFrame({**base, "arousal": [None], "valence": [4.0], "dominance": [1.0]}).to_csv(
        tmp_path / "manifest.csv", index=False)
    assert read_manifest(tmp_path)["arousal"].isna().all()  # an unrated cell is allowed


def _dims_by_file(df: pd.DataFrame) -> dict[str, tuple[float, ...]]:
    return {p.rsplit("/", 1)[-1]: tuple(row) for p, row in zip(df["path"], df[list(DIMENSIONS)].to_numpy(),
                                                                   strict=True)}


@pytest.mark.parametrize("corpus", ["msp_podcast", "iemocap"])
def test_fixtures_carry_dimensions_through_preparation(corpus, tmp_path):
    fx = (build_msp_podcast if corpus == "msp_podcast" else build_iemocap)(tmp_path / "release")
    prepare(corpus, fx.root, tmp_path / "out", split="official")
    df = read_manifest(tmp_path / "out")
    if corpus == "msp_podcast":
        df = pd.concat([df, read_manifest(tmp_path / "out" / "test2")])
    got = _dims_by_file(df)
    assert len(got) > 20
    for name, dims in got.items():
        np.testing.assert_allclose(dims, fx.dims[name], atol=1e-6, err_msg=name)  # NaN == NaN: unrated
    assert any(np.isnan(v).any() for v in got.values()) == (corpus == "msp_podcast")
    if corpus == "iemocap":  # 1-5 mapped onto 1-7, the raw ratings kept beside them
        np.testing.assert_allclose(df["arousal"], np.clip(1 + 1.5 * (df["emoact"] - 1), 1, 7))
        assert df["arousal"].max() == 7.0  # the 5.5 rating, clipped


# ------------------------------------------------------------------------------------------------- CCC
def test_ccc_matches_the_reference_formula_and_scipy():
    from scipy import stats

    rng = np.random.default_rng(1)
    t = rng.uniform(1, 7, size=(50, 3))
    p = 0.6 * t + rng.normal(0.5, 0.8, size=t.shape)
    ref = np.array([lin_ccc(t[:, d], p[:, d]) for d in range(3)])
    np.testing.assert_allclose(concordance(t, p), ref, rtol=1e-10)
    np.testing.assert_allclose(K.ops.convert_to_numpy(dh.ccc(t, p)), ref, rtol=1e-4)
    m = dimension_metrics(t, p)
    for d, name in enumerate(DIMENSIONS):
        assert m[name]["ccc"] == pytest.approx(ref[d])
        assert m[name]["pearson_r"] == pytest.approx(stats.pearsonr(t[:, d], p[:, d]).statistic)
        assert m[name]["rmse"] == pytest.approx(np.sqrt(np.mean((t[:, d] - p[:, d]) ** 2)))
    assert concordance(t, t) == pytest.approx(1.0)
    assert concordance(t[:, 0], 8 - t[:, 0])[0] < -0.99  # reversed ratings
    # weight 0 and unrated (NaN) rows are left out
    w = (np.arange(50) % 2).astype("float32")
    np.testing.assert_allclose(K.ops.convert_to_numpy(dh.ccc(t, p, w)),
                               [lin_ccc(t[w == 1, d], p[w == 1, d]) for d in range(3)], rtol=1e-4)
    t_nan = t.copy()
    t_nan[w == 0, 1] = np.nan
    assert dimension_metrics(t_nan, p)["valence"]["ccc"] == pytest.approx(lin_ccc(t[w == 1, 1], p[w == 1, 1]))
    np.testing.assert_allclose(K.ops.convert_to_numpy(dh.ccc(t_nan, p))[1], lin_ccc(t[w == 1, 1], p[w == 1, 1]),
                               rtol=1e-4)


def test_ccc_loss_is_weighted_one_minus_ccc():
    rng = np.random.default_rng(2)
    t = rng.uniform(1, 7, size=(32, 3)).astype("float32")
    p = (t + rng.normal(0, 1.5, size=t.shape)).astype("float32")
    weights = (1.0, 2.0, 0.5)
    expected = sum(w * (1 - lin_ccc(t[:, d], p[:, d])) for d, w in enumerate(weights)) / sum(weights)
    loss = dh.CCCLoss(weights)
    assert float(K.ops.convert_to_numpy(loss(t, p))) == pytest.approx(expected, rel=1e-4)
    restored = dh.CCCLoss.from_config(loss.get_config())
    assert restored.dimension_weights == weights


def test_speaker_bootstrap_intervals_equal_a_brute_force_resampling():
    rng = np.random.default_rng(3)
    speakers = np.repeat(np.arange(8), 5)
    t = rng.uniform(1, 7, size=(40, 3))
    p = t + rng.normal(0, 1, size=t.shape)
    iv = dimension_intervals(t, p, speakers, n_resamples=200, seed=5)
    m = dimension_metrics(t, p)
    draws = np.random.default_rng(5).multinomial(8, np.full(8, 1 / 8), size=200)
    brute = []
    for counts in draws:
        rows = np.concatenate([np.flatnonzero(speakers == g).repeat(0) if c == 0 else
                               np.tile(np.flatnonzero(speakers == g), c) for g, c in enumerate(counts)])
        brute.append(lin_ccc(t[rows, 0], p[rows, 0]))
    assert iv["arousal"]["ccc"].estimate == pytest.approx(m["arousal"]["ccc"])
    assert iv["arousal"]["ccc"].low == pytest.approx(np.quantile(brute, 0.025))
    assert iv["arousal"]["ccc"].high == pytest.approx(np.quantile(brute, 0.975))
    assert iv["valence"]["rmse"].estimate == pytest.approx(m["valence"]["rmse"])
    assert iv["arousal"]["ccc"].groups == 8


# ------------------------------------------------------------------------------------------------ model
def test_multitask_model_is_padding_invariant_bounded_and_round_trips(tmp_path):
    cfg = tiny_config(**{"model.tasks": "multitask", "model.dropout_rate": 0.0})
    K.utils.set_random_seed(0)
    model = build_sernet(cfg)
    rng = np.random.default_rng(4)
    utterances = [rng.normal(size=(n, layout.N_STORED)).astype("float32") for n in (30, 40)]
    outs = []
    for frames in (45, 70):
        batch = {"features": 10 * rng.normal(size=(2, frames, layout.N_STORED)).astype("float32"),
                 "mask": np.zeros((2, frames), "float32")}
        for b, u in enumerate(utterances):
            batch["features"][b, : len(u)] = u
            batch["mask"][b, : len(u)] = 1.0
        outs.append(dh.split_outputs(model(batch, training=False)))
    np.testing.assert_allclose(outs[1][0], outs[0][0], atol=1e-4)
    np.testing.assert_allclose(outs[1][1], outs[0][1], atol=1e-4)
    assert outs[0][0].shape == (2, len(sernet.EMOTIONS)) and outs[0][1].shape == (2, 3)
    assert np.all((outs[0][1] >= 1) & (outs[0][1] <= 7))
    model.save(tmp_path / "m.keras")
    loaded = K.saving.load_model(tmp_path / "m.keras")
    again = dh.split_outputs(loaded(batch, training=False))
    np.testing.assert_allclose(again[1], dh.split_outputs(model(batch, training=False))[1], atol=1e-6)
    flat = dh.flat_outputs(loaded)  # the one-tensor view runners and exports see
    logits, dims = dh.split_flat(K.ops.convert_to_numpy(flat(batch)), "multitask")
    np.testing.assert_allclose(dims, again[1], atol=1e-6)
    np.testing.assert_allclose(logits, again[0], atol=1e-6)
    only = build_sernet(tiny_config(**{"model.tasks": "dimensional"}))
    assert set(only.output) == {"dimensions"}


def test_cli_trains_a_tiny_multitask_run_and_evaluate_prints_ccc(tmp_path, capsys):
    """``sernet train --set model.tasks=multitask`` on a small synthetic corpus, then ``sernet evaluate``."""
    import json

    from sernet.analysis.runs import run_key
    from sernet.cli import main as cli_main
    from sernet.deploy.predictor import Predictor

    small = {"train.epochs": 1, "synth.n_utterances": 48, "synth.n_speakers": 12}
    assert run_key(tiny_config(**small)) != run_key(tiny_config(**small, **{"model.tasks": "multitask"}))
    common = [*tiny_cli_args(**small, **{"model.tasks": "multitask"}), "--set", f"home={tmp_path / 'home'}"]
    run_dir = tmp_path / "run"
    assert cli_main([*common, "train", "--run-dir", str(run_dir)]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0 <= metrics["test"]["uar"] <= 1 and metrics["tasks"] == "multitask"
    assert set(metrics["test"]["dimensions"]) == {*DIMENSIONS, "mean_ccc"}
    preds = pd.read_csv(run_dir / "predictions.csv")
    assert {"pred_arousal", "true_valence", "prob_angry"} <= set(preds.columns)
    np.testing.assert_allclose(  # the metrics are those of the predictions written beside them
        dimension_metrics(preds.loc[preds.split == "test", ["true_arousal"]].to_numpy(),
                          preds.loc[preds.split == "test", ["pred_arousal"]].to_numpy(),
                          names=("arousal",))["arousal"]["ccc"], metrics["test"]["dimensions"]["arousal"]["ccc"],
        rtol=1e-6)
    history = pd.read_csv(run_dir / "history.csv")
    assert {"val_ccc", "val_uar", "dimensions_loss", "logits_loss"} <= set(history.columns)
    capsys.readouterr()
    assert cli_main([*common, "evaluate", str(run_dir), "--out", str(tmp_path / "eval")]) == 0
    printed = capsys.readouterr().out
    assert "dimensions (CCC" in printed and "valence" in printed and "pearson_r" in printed
    table = pd.read_csv(tmp_path / "eval" / "test_dimensions.csv", index_col=0)
    assert table.loc["arousal", "ccc"] == pytest.approx(metrics["test"]["dimensions"]["arousal"]["ccc"], abs=1e-5)
    predictor = Predictor.load(run_dir)
    x = np.random.default_rng(0).normal(size=(2, 32, layout.N_STORED)).astype("float32")
    assert predictor.logits(x, np.ones((2, 32), "float32")).shape == (2, len(sernet.EMOTIONS) + 3)
    pred = predictor.predict(synthetic.synthesize_utterance(0, tiny_config(**small))[0])  # a waveform in
    assert set(pred.dimensions) == set(DIMENSIONS) and all(1 <= v <= 7 for v in pred.dimensions.values())
    assert pred.label in sernet.EMOTIONS and set(pred.to_dict()["dimensions"]) == set(DIMENSIONS)
    with pytest.raises(SernetError, match="arousal"):
        sernet.train(tiny_config(**{"model.tasks": "multitask"}), FakeStore(), tmp_path / "no-ratings")


def test_msp_podcast_native_labels_keep_other_and_no_agreement_with_their_ratings(tmp_path):
    """``--labels native`` keeps MSP-Podcast's O and X segments (classes ``other``/``no_agreement``) with their
    dimensional ratings; ``paper8`` (the default) drops them."""
    from fixtures_corpora import build_msp_podcast

    from sernet.data.corpora import prepare, read_classes
    from sernet.data.manifest import read_manifest

    fx = build_msp_podcast(tmp_path / "release")
    prepare("msp_podcast", fx.root, tmp_path / "native", labels="native", split="official")
    classes = read_classes(tmp_path / "native")
    assert classes[-2:] == ("other", "no_agreement") and len(classes) == 10
    native = read_manifest(tmp_path / "native", classes=classes)
    kept = native[native["label"].isin(["other", "no_agreement"])]
    assert len(kept) > 0 and kept[["arousal", "valence", "dominance"]].notna().all(axis=None)
    prepare("msp_podcast", fx.root, tmp_path / "paper8", split="official")
    assert not read_manifest(tmp_path / "paper8")["label"].isin(["other", "no_agreement"]).any()
