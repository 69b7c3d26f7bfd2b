"""sernet.train: schedule, SpecAugment, input pipeline, run directory, resume-after-kill."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _train_fakes import FakeStore, tiny_config

import sernet
from sernet.backend import keras
from sernet.errors import SernetError
from sernet.train import RunDir, TrainResult, train
from sernet.train.augment import MaskSpec, SpecAugment, apply_masks, spec_augment
from sernet.train.batches import FeatureBatches, split_batches
from sernet.train.run_dir import config_from_dict
from sernet.train.schedule import make_schedule, schedule_curve


@pytest.fixture(scope="module")
def store():
    return FakeStore()


# ------------------------------------------------------------------------------------------- schedule
def _lr(schedule, step):
    return float(keras().ops.convert_to_numpy(schedule(step)))


def test_schedule_warms_up_linearly_then_decays_to_the_floor():
    tcfg = sernet.config.load("full").train  # the paper's values: 1000 warmup steps, 1e-3 -> 1e-6
    steps_per_epoch = 1127
    s = make_schedule(tcfg, steps_per_epoch)
    assert _lr(s, 0) == pytest.approx(0.0)
    assert _lr(s, 500) == pytest.approx(0.5 * tcfg.learning_rate, rel=1e-5)
    assert _lr(s, tcfg.warmup_steps) == pytest.approx(tcfg.learning_rate, rel=1e-5)
    last = tcfg.epochs * steps_per_epoch
    assert _lr(s, last) == pytest.approx(tcfg.min_learning_rate, rel=1e-3)
    mid = tcfg.warmup_steps + (last - tcfg.warmup_steps) // 2  # cosine half-way: (lr + min_lr) / 2
    assert _lr(s, mid) == pytest.approx((tcfg.learning_rate + tcfg.min_learning_rate) / 2, rel=1e-3)
    steps, rates = schedule_curve(tcfg, steps_per_epoch, points=200)
    after = rates[steps >= tcfg.warmup_steps]
    assert np.all(np.diff(after) <= 1e-12) and np.all(np.diff(rates[steps <= tcfg.warmup_steps]) >= 0)


def test_schedule_shortens_warmup_for_runs_shorter_than_it():
    tcfg = sernet.config.override(sernet.config.load("smoke").train, {"epochs": 2, "warmup_steps": 1000})
    s = make_schedule(tcfg, 10)  # 20 steps in all: warmup becomes 10
    assert _lr(s, 10) == pytest.approx(tcfg.learning_rate, rel=1e-5)
    assert _lr(s, 20) == pytest.approx(tcfg.min_learning_rate, rel=1e-3)


# ------------------------------------------------------------------------------------------ SpecAugment
def _batch():
    x = np.random.default_rng(0).normal(size=(6, 40, 30)).astype("float32")
    m = np.ones((6, 40), "float32")
    m[1, 25:] = 0
    m[2, 5:] = 0
    return x, m


def test_spec_augment_masks_only_real_frames_and_is_seeded():
    x, m = _batch()
    spec = MaskSpec(time_masks=2, time_mask_max_frames=8, feature_masks=2, feature_mask_max_dims=5)
    y = np.asarray(keras().ops.convert_to_numpy(spec_augment(x, m, spec=spec, seed=3)))
    assert y.shape == x.shape
    np.testing.assert_array_equal(y[m == 0], x[m == 0])  # padding untouched
    changed = (y != x)
    assert changed.any()
    assert np.all(y[changed] == 0)  # masked values are zeroed, nothing else moves
    # at most 2 x 8 frames fully masked per row, at most 2 x 5 feature columns fully masked
    for b in range(len(x)):
        full_t = np.all(changed[b], axis=1).sum()
        assert full_t <= 2 * 8
    y2 = np.asarray(keras().ops.convert_to_numpy(spec_augment(x, m, spec=spec, seed=3)))
    np.testing.assert_array_equal(y, y2)
    y3 = np.asarray(keras().ops.convert_to_numpy(spec_augment(x, m, spec=spec, seed=4)))
    assert not np.array_equal(y, y3)


def test_spec_augment_without_masks_is_identity():
    x, m = _batch()
    y = keras().ops.convert_to_numpy(spec_augment(x, m, spec=MaskSpec(0, 10, 0, 10), seed=0))
    np.testing.assert_array_equal(y, x)


def test_layer_masks_in_training_only_and_zero_draws_change_nothing(store):
    cfg = tiny_config()
    ds = split_batches(store, "train", cfg, training=True)
    inputs, _ = ds[0]
    spec = MaskSpec.from_config(cfg.train)
    assert inputs["draws"].shape == (len(ds.batch_indices(0)), spec.n_draws)
    layer = SpecAugment(**spec.__dict__)
    ops = keras().ops
    x, m, u = inputs["features"], inputs["mask"], inputs["draws"]
    trained = ops.convert_to_numpy(layer(x, m, u, training=True))
    np.testing.assert_array_equal(trained, ops.convert_to_numpy(apply_masks(x, m, u, spec)))
    assert (trained != x).any()
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(x, m, u, training=False)), x)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(x, m, np.zeros_like(u), training=True)), x)
    off = split_batches(store, "train", tiny_config(**{"train.augment": False}), training=True)
    assert not off[0][0]["draws"].any()
    restored = SpecAugment.from_config(layer.get_config())
    assert restored.spec == layer.spec


# ------------------------------------------------------------------------------------------- batches
def test_training_batches_shapes_masks_and_cover_each_utterance_once(store):
    cfg = tiny_config()
    ds = split_batches(store, "train", cfg, training=True)
    seen = []
    for b in range(len(ds)):
        inputs, y = ds[b]
        rows = ds.batch_indices(b)
        assert inputs["features"].shape == (len(rows), cfg.features.max_length, 268)
        assert inputs["mask"].shape == (len(rows), cfg.features.max_length)
        np.testing.assert_array_equal(inputs["mask"].sum(1), np.minimum(store.lengths[rows],
                                                                          cfg.features.max_length))
        np.testing.assert_array_equal(y.argmax(1), store.labels[rows])
        assert np.all(inputs["features"][inputs["mask"] == 0] == 0)
        seen.extend(rows.tolist())
    assert sorted(seen) == sorted(store.split_indices("train").tolist())
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_order_is_a_function_of_seed_and_epoch_so_resume_is_exact(store):
    cfg = tiny_config()
    a = split_batches(store, "train", cfg, training=True)
    first = a.order.copy()
    x0 = a[0][0]["features"]
    a.on_epoch_end()
    a.on_epoch_end()
    b = split_batches(store, "train", cfg, training=True, epoch=2)
    np.testing.assert_array_equal(a.order, b.order)
    np.testing.assert_array_equal(a[1][0]["features"], b[1][0]["features"])
    assert not np.array_equal(first, a.order)
    c = split_batches(store, "train", cfg, training=True)
    np.testing.assert_array_equal(c[0][0]["features"], x0)


def test_evaluation_batches_are_fixed_centre_crops_without_masks(store):
    cfg = tiny_config()
    ds = split_batches(store, "val", cfg, training=False)
    np.testing.assert_array_equal(ds.order, store.split_indices("val"))
    assert ds.mask_spec is None and "draws" not in ds[0][0]
    i = int(ds.order[0])
    x = ds[0][0]["features"][0]
    frames = store.normalize(store.frames(i))
    t, n = len(frames), cfg.features.max_length
    start = max(0, (t - n) // 2)
    np.testing.assert_allclose(x[:min(t, n)], frames[start:start + min(t, n)], rtol=1e-6)


def test_class_weights_become_sample_weights(store):
    w = np.arange(1, 9, dtype="float32")
    ds = FeatureBatches(store, store.split_indices("train"), batch_size=8, max_length=16, crop="start",
                        shuffle=False, seed=0, sample_weights=w)
    _, y, sw = ds[0]
    np.testing.assert_array_equal(sw, w[y.argmax(1)])


# ------------------------------------------------------------------------------------------- run dir
def test_config_round_trips_through_json():
    cfg = sernet.config.override(sernet.config.load("smoke"), {"model.pooling": "mean", "train.seed": 7})
    back = config_from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg


def test_missing_run_files_raise_errors_naming_them(tmp_path):
    run = RunDir(tmp_path / "nothing")
    with pytest.raises(SernetError, match="metrics.json"):
        run.read_metrics()
    with pytest.raises(SernetError, match="model.keras"):
        run.load_model()


# ---------------------------------------------------------------------------------------------- train
class _Killed(RuntimeError):
    pass


def _kill_after(epoch: int):
    class Kill(keras().callbacks.Callback):
        def on_epoch_end(self, e, logs=None):
            if e + 1 == epoch:
                raise _Killed(f"killed after epoch {epoch}")

    return Kill()


def _weights(result: TrainResult):
    """Weights and statistics (not the RNG state, which a loaded model draws afresh)."""
    return [keras().ops.convert_to_numpy(v.value) for v in result.load_model().variables
            if "seed_generator" not in v.path]


@pytest.fixture(scope="module")
def uninterrupted(store, tmp_path_factory):
    return train(tiny_config(), store, tmp_path_factory.mktemp("runs") / "full", resume=False)


def test_run_directory_holds_config_stats_model_history_metrics(uninterrupted, store):
    run = uninterrupted.run_dir
    for path in (run.config_json, run.norm_stats, run.model_file, run.history_csv, run.metrics_json,
                 run.predictions_csv, run.state_json):
        assert path.exists(), path
    assert any(run.tensorboard.rglob("events.out.tfevents.*"))
    assert run.read_config() == tiny_config()
    mean, std = run.read_norm_stats()
    np.testing.assert_array_equal(mean, store.norm_mean)
    hist = run.read_history()
    assert list(hist["epoch"]) == list(range(1, len(hist) + 1))
    assert {"loss", "accuracy", "val_uar", "val_war", "val_macro_f1", "lr"} <= set(hist.columns)
    m = run.read_metrics()
    assert m["best_epoch"] == int(hist["val_uar"].idxmax()) + 1
    assert m["val"]["uar"] == pytest.approx(hist["val_uar"].max())  # the best checkpoint is evaluated
    preds = run.read_predictions()
    assert len(preds) == len(store.split_indices("val")) + len(store.split_indices("test"))
    probs = preds.filter(like="prob_").to_numpy()
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    test = preds[preds.split == "test"]
    assert m["test"]["war"] == pytest.approx((test.true == test.predicted).mean())


def test_killed_run_resumes_to_the_same_result(uninterrupted, store, tmp_path):
    """Also checks model reuse: both calls below reuse the compiled model of ``uninterrupted`` (same
    config), re-initialised for the seed; the result must equal that fresh build's."""
    from sernet.train import trainer

    assert len(trainer._COMPILED) >= 1
    cfg = tiny_config()
    with pytest.raises(_Killed):
        train(cfg, store, tmp_path / "killed", resume=False, callbacks=(_kill_after(2),))
    state = json.loads(RunDir(tmp_path / "killed").state_json.read_text())
    assert state["epoch"] == 2 and not (tmp_path / "killed" / "metrics.json").exists()
    resumed = train(cfg, store, tmp_path / "killed", resume=True)
    # Same machine, same seed: identical up to float32 round-off (tolerance 1e-6).
    pd.testing.assert_frame_equal(resumed.history, uninterrupted.history, rtol=1e-6)
    assert resumed.metrics == uninterrupted.metrics
    for a, b in zip(_weights(resumed), _weights(uninterrupted), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_a_finished_run_is_loaded_not_retrained(uninterrupted, store):
    again = train(tiny_config(), store, uninterrupted.run_dir.path, resume=True,
                  callbacks=(_kill_after(1),))  # would raise if it trained
    assert again.metrics == uninterrupted.metrics


def test_early_stopping_on_validation_uar(store, tmp_path):
    cfg = tiny_config(**{"train.epochs": 30, "train.early_stopping_patience": 1,
                         "train.learning_rate": 1e-12, "train.min_learning_rate": 1e-12})
    result = train(cfg, store, tmp_path / "es", resume=False)  # lr ~0: UAR never improves after epoch 1
    assert result.metrics["stopped_early"] and result.metrics["epochs_run"] == 2
    assert result.metrics["best_epoch"] == 1


@pytest.mark.skipif(sernet.backend.backend_name() != "tensorflow", reason="tf.distribute")
def test_single_device_strategy_trains(store, tmp_path):
    import tensorflow as tf

    cfg = tiny_config(**{"train.epochs": 1})
    result = train(cfg, store, tmp_path / "strategy", resume=False,
                   strategy=tf.distribute.OneDeviceStrategy("/cpu:0"))
    assert 0.0 <= result.metrics["test"]["uar"] <= 1.0


def test_error_causes_use_the_ground_truth_a_manifest_has():
    import pandas as pd

    from sernet.analysis import errors

    real = pd.DataFrame({"duration_s": [1.0, 2.0, 3.0, 4.0]})
    assert list(errors.synthetic_causes(real, crop_s=1.5).columns) == ["short"]
    synthetic = real.assign(blend_label=["", "sad", "", ""], expressiveness=[1.0] * 4, snr_db=[None, 10, None, None])
    causes = errors.synthetic_causes(synthetic, crop_s=1.5)
    assert list(causes.columns) == ["ambiguous", "atypical speaker", "background noise", "short"]
    assert causes["ambiguous"].tolist() == [False, True, False, False]
    assert causes["background noise"].tolist() == [False, True, False, False]
    assert causes["short"].tolist() == [True, False, False, False]
