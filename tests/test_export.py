"""sernet.export and ``sernet export``: parity of every export format with the Keras model, loadability."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny import TINY_MODEL

import sernet
from sernet.deploy.export import FORMATS, REPORT_FILE, export_model, parity_windows, size_table
from sernet.deploy.predictor import Predictor
from sernet.errors import SernetError

TF_FORMATS = tuple(f for f in FORMATS if not f.startswith("onnx"))
"""SavedModel and LiteRT; the ONNX formats are tested in tests/test_onnx.py."""

TINY = {
    **TINY_MODEL,
    "features.max_length": 100,
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny untrained model exported in every format, with parity on real features of 6 utterances."""
    from sernet.backend import keras
    from sernet.data.synthetic import synthesize_utterance
    from sernet.features import extract_frame_features
    from sernet.model import build_sernet

    cfg = sernet.config.override(sernet.config.load("smoke"), TINY)
    raws = [extract_frame_features(synthesize_utterance(i, cfg)[0], cfg.features) for i in range(6)]
    stacked = np.concatenate(raws)
    keras().utils.set_random_seed(0)
    predictor = Predictor.from_model(build_sernet(cfg), cfg, stacked.mean(axis=0), stacked.std(axis=0))
    x, mask = parity_windows(predictor, raws, len(raws))
    out = tmp_path_factory.mktemp("export")
    results = export_model(predictor, out, x, mask, formats=TF_FORMATS)
    return cfg, predictor, out, results, x, mask


def test_every_format_is_written_and_within_its_tolerance(exported):
    cfg, _, out, results, x, _ = exported
    assert [r.format for r in results] == list(TF_FORMATS)
    for r in results:
        assert r.n_parity == len(x) == 6
        assert r.passed, f"{r.format}: max |dlogit| {r.max_abs_dlogit} > {r.tolerance}"
        assert 0.0 <= r.label_agreement <= 1.0 and r.size_mb > 0
    by = {r.format: r for r in results}
    assert by["saved_model"].max_abs_dlogit <= cfg.deploy.parity_atol_fp32
    assert by["tflite_fp32"].label_agreement == 1.0
    # quantised weights make smaller files
    assert by["tflite_int8"].size_mb < by["tflite_fp16"].size_mb < by["tflite_fp32"].size_mb
    report = json.loads((out / REPORT_FILE).read_text())
    assert [r["format"] for r in report] == list(TF_FORMATS)


@pytest.mark.parametrize("fmt", TF_FORMATS)
def test_exports_load_as_predictors_with_matching_probabilities(exported, fmt):
    from sernet.deploy.export import FILENAMES, tolerance

    cfg, predictor, out, _, x, mask = exported
    loaded = Predictor.load(out / FILENAMES[fmt])
    assert loaded.cfg.features == cfg.features
    np.testing.assert_allclose(loaded.norm_mean, predictor.norm_mean)
    ref = predictor.logits(x, mask)
    got = loaded.logits(x, mask, batch_size=4)  # also exercises batch resizing (4, then 2)
    assert np.max(np.abs(got - ref)) <= tolerance(cfg, fmt)


def test_size_table_puts_the_paper_beside_ours(exported):
    _, predictor, _, results, _, _ = exported
    table = size_table(results, predictor.model.count_params())
    assert set(table["model"]) == {"SER-Net Base", "SER-Net Large", "ours"}
    assert table.loc[table["model"] == "SER-Net Base", "size_mb"].item() == 9.2


def test_unknown_format_and_missing_model_are_errors(exported, tmp_path):
    _, predictor, _, _, x, mask = exported
    with pytest.raises(SernetError, match="unknown export format"):
        export_model(predictor, tmp_path, x, mask, formats=("torchscript",))
    lite = Predictor.load(exported[2] / "model_fp32.tflite")
    with pytest.raises(SernetError, match="Keras model"):
        export_model(lite, tmp_path, x, mask)


def test_cli_export_writes_a_loadable_export(exported, tmp_path, monkeypatch, capsys):
    import sernet.cli.export as cli_export
    from sernet.cli import main
    from sernet.deploy.predictor import write_metadata

    cfg, predictor, _, _, x, mask = exported
    run = tmp_path / "run"
    write_metadata(run, cfg, predictor.norm_mean, predictor.norm_std)
    predictor.model.save(run / "model.keras")
    monkeypatch.setattr(cli_export, "parity_features", lambda p: (x, mask))  # no corpus cache needed
    assert main(["export", str(run), "--out", str(tmp_path / "out"), "--formats", "tflite_int8", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [e["format"] for e in payload["exports"]] == ["tflite_int8"] and payload["exports"][0]["passed"]
    assert Predictor.load(tmp_path / "out" / "model_int8.tflite").max_length == cfg.features.max_length
