"""ONNX export (Keras 3's ``model.export(format="onnx")``), static int8 quantisation and the ONNX Runtime runner:
parity with the Keras model on ragged masks, label agreement of int8, Predictor.load of ``.onnx``, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _train_fakes import tiny_config

pytest.importorskip("onnxruntime")

from sernet.deploy.export import FILENAMES, REPORT_FILE, export_model  # noqa: E402
from sernet.deploy.predictor import Predictor  # noqa: E402
from sernet.deploy.runners import OnnxRuntimeRunner  # noqa: E402
from sernet.errors import SernetError  # noqa: E402
from sernet.labels import NUM_CLASSES  # noqa: E402

FP32_ATOL = 1e-4
"""The issue's fp32 parity bound (max |Δlogit|), tighter than ``deploy.parity_atol_fp32``."""


def class_windows(rng, protos: np.ndarray, n: int, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` windows of noise around a class prototype, real for a random 1/3..all of ``length`` frames."""
    y = rng.integers(0, len(protos), n)
    real = rng.integers(length // 3, length + 1, n)
    mask = (np.arange(length)[None, :] < real[:, None]).astype(np.float32)
    x = (rng.normal(size=(n, length, protos.shape[1])) + protos[y][:, None, :]).astype(np.float32)
    return x * mask[..., None], mask, y


@pytest.fixture(scope="module")
def onnx_export(tmp_path_factory):
    """A tiny SER-Net fitted (a few epochs of Keras ``fit``) to separable windows with ragged masks, saved as a
    run directory and exported as ONNX fp32 and int8 (calibrated on training windows); parity on 128 held-out
    windows."""
    from sernet.backend import keras
    from sernet.deploy.predictor import write_metadata
    from sernet.model import build_sernet

    cfg = tiny_config()
    k = keras()
    k.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    protos = rng.normal(size=(NUM_CLASSES, 268)).astype(np.float32)
    x_train, m_train, y_train = class_windows(rng, protos, 512, cfg.features.max_length)
    x, mask, _ = class_windows(rng, protos, 128, cfg.features.max_length)
    model = build_sernet(cfg)
    model.compile(optimizer=k.optimizers.Adam(3e-3), loss=k.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit({"features": x_train, "mask": m_train}, y_train, batch_size=32, epochs=4, verbose=0)
    run = tmp_path_factory.mktemp("runs") / "onnx"
    write_metadata(run, cfg, np.zeros(268, np.float32), np.ones(268, np.float32))
    model.save(run / "model.keras")
    predictor = Predictor.load(run)
    out = tmp_path_factory.mktemp("export")
    results = export_model(predictor, out, x, mask, formats=("onnx", "onnx_int8"),
                           calibration=(x_train[:128], m_train[:128]))
    return cfg, predictor, out, {r.format: r for r in results}, x, mask


def test_parity_windows_have_ragged_masks(onnx_export):
    *_, mask = onnx_export
    lengths = mask.sum(axis=1)
    assert lengths.min() < mask.shape[1] and lengths.max() == mask.shape[1]
    assert len(np.unique(lengths)) > 3


def test_onnx_fp32_matches_keras_on_ragged_masks(onnx_export):
    cfg, _, out, by, x, _ = onnx_export
    r = by["onnx"]
    assert r.n_parity == len(x)
    assert r.max_abs_dlogit <= FP32_ATOL, f"onnx fp32 max |dlogit| {r.max_abs_dlogit}"
    assert r.label_agreement == 1.0 and r.passed
    report = json.loads((out / REPORT_FILE).read_text())
    assert [e["format"] for e in report] == ["onnx", "onnx_int8"]
    assert all(e["size_mb"] > 0 for e in report)


def test_onnx_int8_agrees_on_labels_and_is_smaller(onnx_export):
    cfg, predictor, out, by, x, mask = onnx_export
    r = by["onnx_int8"]
    assert r.min_agreement == cfg.deploy.int8_min_agreement
    assert r.label_agreement >= cfg.deploy.int8_min_agreement, f"int8 label agreement {r.label_agreement}"
    assert r.max_abs_dlogit <= cfg.deploy.parity_atol_int8 and r.passed
    assert 0 < r.max_abs_dlogit  # quantised: not the float model
    # the graph really is quantised: QDQ nodes around int8 weights (a quarter of their float32 bytes; the
    # file of so tiny a model is not smaller: node names and per-channel scales outweigh the weights)
    import onnx
    from onnx import numpy_helper

    graphs = {f: onnx.load(out / FILENAMES[f]).graph for f in ("onnx", "onnx_int8")}
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in graphs["onnx_int8"].node}
    int8 = [i for i in graphs["onnx_int8"].initializer if i.data_type == onnx.TensorProto.INT8]
    assert int8 and all(numpy_helper.to_array(i).dtype == np.int8 for i in int8)
    float_bytes = sum(numpy_helper.to_array(i).nbytes for i in graphs["onnx"].initializer)
    int8_bytes = sum(numpy_helper.to_array(i).nbytes for i in graphs["onnx_int8"].initializer)
    quantised = sum(numpy_helper.to_array(i).nbytes for i in int8)
    assert int8_bytes == pytest.approx(float_bytes - 3 * quantised, rel=0.05)  # 4 bytes became 1 (+ scales)


def test_int8_disagreements_are_near_ties_and_the_interval_brackets_the_agreement(onnx_export):
    cfg, predictor, out, by, x, mask = onnx_export
    from sernet.deploy.export import near_tie_share

    r = by["onnx_int8"]
    ref = predictor.logits(x, mask)
    assert r.near_ties == pytest.approx(near_tie_share(ref, r.max_abs_dlogit))
    assert r.label_agreement >= 1.0 - r.near_ties - 1e-12  # only a near tie can change label
    ci = r.agreement_interval()
    assert ci.low <= r.label_agreement <= ci.high and ci.groups == r.n_parity == len(x)
    assert by["onnx"].near_ties <= r.near_ties  # the fp32 error is far smaller: fewer windows at risk


@pytest.mark.parametrize("fmt", ["onnx", "onnx_int8"])
def test_onnx_loads_as_a_predictor(onnx_export, fmt):
    cfg, predictor, out, by, x, mask = onnx_export
    loaded = Predictor.load(out / FILENAMES[fmt], num_threads=1)
    assert isinstance(loaded.runner, OnnxRuntimeRunner)
    assert loaded.classes == predictor.classes and loaded.cfg.features == cfg.features
    np.testing.assert_allclose(loaded.norm_mean, predictor.norm_mean)
    ref = predictor.logits(x, mask)
    got = loaded.logits(x, mask, batch_size=5)  # batch sizes 5 and a remainder: the batch axis is free
    bound = FP32_ATOL if fmt == "onnx" else cfg.deploy.parity_atol_int8
    assert np.max(np.abs(got - ref)) <= bound


def test_onnx_padding_does_not_change_the_logits(onnx_export):
    _, _, out, _, x, mask = onnx_export
    runner = OnnxRuntimeRunner(out / FILENAMES["onnx"])
    padded = mask == 0
    assert padded.any()
    noisy = x.copy()
    noisy[padded] = np.random.default_rng(1).normal(size=(int(padded.sum()), x.shape[-1])) * 10
    np.testing.assert_allclose(runner.logits(noisy, mask), runner.logits(x, mask), atol=FP32_ATOL)


@pytest.mark.parametrize("level", ["disable", "basic", "extended", "all"])
def test_optimisation_levels_and_threads_give_the_same_logits(onnx_export, level):
    _, _, out, _, x, mask = onnx_export
    ref = OnnxRuntimeRunner(out / FILENAMES["onnx"]).logits(x, mask)
    got = OnnxRuntimeRunner(out / FILENAMES["onnx"], num_threads=1, optimization=level).logits(x, mask)
    np.testing.assert_allclose(got, ref, atol=FP32_ATOL)


def test_runner_errors_name_the_file(tmp_path, onnx_export):
    missing = tmp_path / "missing.onnx"
    with pytest.raises(SernetError, match="missing.onnx: no such ONNX file"):
        OnnxRuntimeRunner(missing)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a protobuf at all")
    with pytest.raises(SernetError, match="garbage.onnx: not a loadable ONNX model"):
        OnnxRuntimeRunner(garbage)
    _, _, out, *_ = onnx_export
    with pytest.raises(SernetError, match="model.onnx: unknown ONNX Runtime optimisation level 'fast'"):
        OnnxRuntimeRunner(out / FILENAMES["onnx"], optimization="fast")
    with pytest.raises(SernetError, match="config.json: missing; a run or export directory needs"):
        Predictor.load(garbage)  # no config.json / norm_stats.npz beside it


def test_int8_without_a_float_model_in_the_formats_still_writes_both(onnx_export, tmp_path):
    _, predictor, _, _, x, mask = onnx_export
    results = export_model(predictor, tmp_path, x[:8], mask[:8], formats=("onnx_int8",))
    assert [r.format for r in results] == ["onnx_int8"]
    assert (tmp_path / FILENAMES["onnx"]).is_file() and (tmp_path / FILENAMES["onnx_int8"]).is_file()
    assert not (tmp_path / FILENAMES["saved_model"]).exists()  # no SavedModel needed for ONNX
