"""Self-supervised pre-training (``sernet.train.pretrain``, ``sernet pretrain``): the masked L1 on known
cases (unmasked cells and padding add nothing), the masks, resumed == uninterrupted, the output as a
``train --init`` base, label fractions and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from _train_fakes import tiny_cli_args, tiny_config

from sernet.backend import keras
from sernet.cli import main as cli_main
from sernet.config import load as load_config
from sernet.errors import ConfigError, SernetError
from sernet.features.cache import FeatureStore
from sernet.labels import EMOTIONS
from sernet.model import build_sernet
from sernet.train import RunDir
from sernet.train.pretrain import (
    MaskedFrameBatches,
    corrupt,
    draw_masks,
    label_fraction_store,
    load_pretraining_model,
    loss_weights,
    masked_l1,
    pretrain,
    pretraining_model,
)
from sernet.train.trainer import copy_weights_by_name, plan_init

PRE = {"pretrain.epochs": 2, "pretrain.batch_size": 16, "pretrain.warmup_steps": 2}


def _store(n=48, seed=0):
    rng = np.random.default_rng(seed)
    frames, labels, speakers = [], [], []
    for i in range(n):
        c = i % len(EMOTIONS)
        x = rng.normal(size=(int(rng.integers(20, 40)), 268))
        x[:, c] += 2.0
        frames.append(x)
        labels.append(EMOTIONS[c])
        speakers.append(f"spk{i % 10}")
    return FeatureStore.from_arrays(frames, labels, speakers=speakers)


@pytest.fixture(scope="module")
def store():
    return _store()


@pytest.fixture(scope="module")
def finished(store, tmp_path_factory):
    cfg = tiny_config(**PRE)
    return pretrain(cfg, store, tmp_path_factory.mktemp("pre") / "run")


def _np(x):
    return np.asarray(keras().ops.convert_to_numpy(x))


# ------------------------------------------------------------------------------------------------ objective
def test_masked_l1_known_case_ignores_unmasked_cells_and_padding():
    target = np.zeros((2, 4, 3), np.float32)
    prediction = np.full((2, 4, 3), 100.0, np.float32)  # huge errors everywhere ...
    prediction[0, 1, :] = [1.0, 2.0, 3.0]  # ... except on the masked cells
    prediction[1, 0, 2] = -4.0
    real = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], np.float32)  # frame 3 / frames 2-3 are padding
    time_masked = np.array([[0, 1, 0, 1], [0, 0, 1, 1]], bool)  # masks that also cover padding
    channel_masked = np.array([[0, 0, 0], [0, 0, 1]], bool)
    w = loss_weights(real, time_masked, channel_masked)
    assert w[0, 3].sum() == 0 and w[1, 2:].sum() == 0  # padding never counts
    np.testing.assert_array_equal(np.argwhere(w[1]), [[0, 2], [1, 2]])
    # utterance 0: |1|+|2|+|3| over 3 cells; utterance 1: |-4| and 100 (frame 1, channel 2) over 2 cells
    assert float(_np(masked_l1(target, prediction, w))) == pytest.approx((6.0 + 4.0 + 100.0) / 5)
    assert float(_np(masked_l1(target, prediction, np.zeros_like(w)))) == 0.0


def test_masks_stay_in_real_frames_and_in_bounds():
    pcfg = load_config().pretrain
    real = np.zeros((64, 120), np.float32)
    lengths = np.random.default_rng(1).integers(10, 121, size=64)
    for b, n in enumerate(lengths):
        real[b, :n] = 1
    t, c = draw_masks(real, 268, pcfg, np.random.default_rng(0))
    assert not (t & (real == 0)).any()
    assert t.any(axis=1).all()
    widths = c.sum(axis=1)
    assert widths.max() <= pcfg.channel_mask_max
    for row in c:  # one contiguous block
        idx = np.flatnonzero(row)
        assert idx.size == 0 or idx[-1] - idx[0] + 1 == idx.size
    share = t.sum() / real.sum()
    assert 0.5 * pcfg.time_mask_fraction < share < 1.5 * pcfg.time_mask_fraction


def test_batches_zero_exactly_the_weighted_cells_and_replay(store):
    cfg = tiny_config(**PRE)
    ds = MaskedFrameBatches(store, store.split_indices("train"), pcfg=cfg.pretrain, batch_size=8,
                            max_length=32, crop="random", shuffle=True, seed=3, epoch=1)
    inputs, target, weights = ds.masked_batch(0)
    np.testing.assert_array_equal(inputs["features"], corrupt(target, weights))
    assert (inputs["features"][weights == 1] == 0).all()
    np.testing.assert_array_equal(inputs["features"][weights == 0], target[weights == 0])
    again = MaskedFrameBatches(store, store.split_indices("train"), pcfg=cfg.pretrain, batch_size=8,
                               max_length=32, crop="random", shuffle=True, seed=3, epoch=1)
    x, y = again[0]
    np.testing.assert_array_equal(x["features"], inputs["features"])
    np.testing.assert_array_equal(y, np.concatenate([target, weights], axis=-1))


def test_pretraining_needs_the_sernet_encoder():
    with pytest.raises(ConfigError, match="architecture"):
        pretraining_model(tiny_config(**{"model.architecture": "cnn"}))


# -------------------------------------------------------------------------------------------------- resume
class _StopAfter(keras().callbacks.Callback):
    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True


def test_resumed_pretraining_equals_uninterrupted(store, finished, tmp_path):
    cfg = tiny_config(**PRE)
    run_dir = tmp_path / "resumed"
    partial = pretrain(cfg, store, run_dir, callbacks=(_StopAfter(1),))
    assert not partial.run_dir.complete and len(partial.history) == 1
    resumed = pretrain(cfg, store, run_dir)
    assert resumed.run_dir.complete
    a, b = finished.run_dir.load_model(), resumed.run_dir.load_model()
    for va, vb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(_np(va), _np(vb), err_msg=va.path)
    np.testing.assert_allclose(resumed.history["loss"], finished.history["loss"], rtol=0, atol=0)
    assert resumed.metrics["val"] == finished.metrics["val"]


def test_pretraining_learns_and_reports_against_the_mean(finished):
    m = finished.metrics
    assert m["epochs_run"] == 2 and m["val"]["masked_cells"] > 0
    assert RunDir(finished.run_dir.path).read_payload()["kind"] == "pretrain"
    h = finished.history["loss"].to_numpy()
    assert h[-1] < h[0]


# --------------------------------------------------------------------------------------------- fine-tuning
def test_the_pretrained_run_is_a_fine_tuning_base(store, finished):
    """What ``train(init=RUN)`` does first (tests/test_finetune.py trains through it): plan, then copy by name."""
    plan = plan_init(finished.run_dir.path, label_fraction_store(store, 0.5, seed=0))
    assert plan.head == "copied" and plan.classes == EMOTIONS
    base = finished.run_dir.load_model()
    fresh = build_sernet(tiny_config(), len(EMOTIONS))
    copied = copy_weights_by_name(base, fresh)
    assert {"multiscale_conv", "projection", "residual_1", "self_attention"} <= set(copied)
    encoder = load_pretraining_model(finished.run_dir.path).get_layer("encoder")  # the pre-training's own
    for name in ("projection", "residual_1", "self_attention"):  # the pre-trained values, not fresh ones
        for a, b in zip(fresh.get_layer(name).weights, encoder.get_layer(name).weights, strict=True):
            np.testing.assert_array_equal(_np(a), _np(b))


def test_label_fraction_store_is_stratified_and_keeps_val_and_test(store):
    sub = label_fraction_store(store, 0.25, seed=1)
    train_rows = store.split_indices("train")
    kept = sub.split_indices("train")
    assert set(kept) < set(train_rows)
    labels = np.asarray(store.labels)
    for c in np.unique(labels[train_rows]):
        n = int((labels[train_rows] == c).sum())
        assert int((labels[kept] == c).sum()) == max(1, round(0.25 * n))
    for split in ("val", "test"):
        np.testing.assert_array_equal(sub.split_indices(split), store.split_indices(split))
    np.testing.assert_array_equal(sub.norm_mean, store.norm_mean)
    assert label_fraction_store(store, 1.0, seed=1) is store
    assert not np.array_equal(kept, label_fraction_store(store, 0.25, seed=2).split_indices("train"))
    with pytest.raises(SernetError, match="fraction"):
        label_fraction_store(store, 0.0, seed=0)


# ----------------------------------------------------------------------------------------------------- CLI
def test_cli_pretrain_on_a_prepared_folder(tmp_path, capsys):
    import pandas as pd
    import soundfile as sf

    root = tmp_path / "unlabelled"
    (root / "wav").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):
        t = np.arange(8000) / 16000
        y = 0.3 * np.sin(2 * np.pi * (110 + 20 * (i % 4)) * t) + 0.01 * rng.standard_normal(t.size)
        sf.write(root / "wav" / f"u{i:02d}.wav", y.astype(np.float32), 16000)
        rows.append({"path": f"wav/u{i:02d}.wav", "label": EMOTIONS[i % 2], "speaker": f"s{i % 4}",
                     "split": "train" if i < 9 else "val", "duration_s": 0.5})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    args = [*tiny_cli_args(**{"pretrain.epochs": 1, "pretrain.batch_size": 4}), "--set", f"home={tmp_path / 'h'}",
            "pretrain", "--data", str(root), "--workers", "1", "--run-dir", str(tmp_path / "ssl")]
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert "9 train utterances (labels not read)" in out and "sernet train --init" in out
    assert RunDir(tmp_path / "ssl").complete


def test_cli_pretrain_record_needs_the_curve(tmp_path, capsys):
    args = [*tiny_cli_args(), "--set", f"home={tmp_path / 'h'}", "pretrain", "--record", "x"]
    assert cli_main(args) == 2
    assert "--record NAME needs --label-efficiency" in capsys.readouterr().err


def test_a_record_round_trips_with_its_header(tmp_path):
    from sernet.analysis import study
    from sernet.analysis.bootstrap import Interval
    from sernet.analysis.verdicts import difference_verdict

    cfg = load_config("smoke")
    v = difference_verdict("a vs b", Interval(1.0, -0.5, 2.5, 0.95, "test"))
    path = study.write_record(cfg, "curve", {"verdicts": [v.to_dict()], "rows": [{"x": 1}]}, command="sernet x",
                              wall_s=1.5, out_dir=tmp_path)
    back = study.load_record("curve", results_dir=tmp_path)
    assert path == tmp_path / "curve.json"
    assert back["profile"] == "smoke" and back["command"] == "sernet x" and back["wall_s"] == 1.5
    assert back["config_fingerprint"] == cfg.fingerprint() and back["machine"]["cores"] >= 1
    assert back["rows"] == [{"x": 1}] and study.verdicts(back)[0].sentence() == v.sentence()
