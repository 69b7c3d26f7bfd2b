"""The public API of ``import sernet``: lazy names, ``FeatureStore.from_arrays``, the README example
and ``keras.saving.load_model`` of a run's model after a plain ``import sernet``."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import sernet
from sernet.errors import SernetError
from sernet.features.cache import FeatureStore
from sernet.features.layout import N_STORED

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ("load_config", "load_audio", "extract_features", "FeatureStore", "build_model", "train", "evaluate",
          "Predictor")


def _python(code: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600) -> str:
    """Run ``code`` in a fresh interpreter; return its stdout (fail with its stderr)."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return proc.stdout


def _frames(n: int, seed: int = 0, length: int = 30) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(loc=i % 5, size=(length + i % 7, N_STORED)) for i in range(n)]


# ------------------------------------------------------------------------------------------- the names
def test_import_sernet_imports_no_heavy_module():
    out = _python("import sys, json, sernet; "
                  "print(json.dumps([m for m in ('tensorflow', 'keras', 'jax', 'torch', 'numpy', 'pandas') "
                  "if m in sys.modules]))")
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_public_names_are_listed_documented_and_resolve():
    for name in PUBLIC:
        assert name in sernet.__all__ and name in dir(sernet)
        obj = getattr(sernet, name)
        assert (obj.__doc__ or "").strip(), f"sernet.{name} has no docstring"
    from sernet.data.audio import read_audio
    from sernet.deploy.predictor import Predictor
    from sernet.model import build_sernet

    assert sernet.load_config is sernet.config.load
    assert sernet.load_audio is read_audio
    assert sernet.FeatureStore is FeatureStore
    assert sernet.build_model is build_sernet
    assert sernet.Predictor is Predictor
    assert all(name in sernet.__all__ for name in ("EMOTIONS", "NUM_CLASSES", "config", "__version__"))


def test_train_is_the_package_and_callable():
    import sernet.train

    assert sernet.train is sys.modules["sernet.train"]
    assert callable(sernet.train) and sernet.train.RunDir is not None
    with pytest.raises(TypeError):  # the call is sernet.train.train's (cfg, store and run_dir missing)
        sernet.train()


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        sernet.not_a_name  # noqa: B018


def test_extract_features_takes_a_config_or_its_feature_section():
    t = np.arange(8000) / 16000
    y = (0.1 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    cfg = sernet.load_config("smoke")
    a = sernet.extract_features(y, cfg)
    assert a.shape == (51, N_STORED) and a.dtype == np.float32
    np.testing.assert_array_equal(a, sernet.extract_features(y, cfg.features))
    np.testing.assert_array_equal(a, sernet.extract_features(y))


# ------------------------------------------------------------------------------ FeatureStore.from_arrays
def test_from_arrays_holds_the_frames_labels_and_a_speaker_independent_split():
    frames = _frames(40)
    labels = ["angry", "sad", "neutral", "happy"] * 10
    speakers = [f"spk{i % 10}" for i in range(40)]
    store = FeatureStore.from_arrays(frames, labels, speakers=speakers)
    assert store.n == 40 and store.path is None
    for i in (0, 17, 39):
        np.testing.assert_array_equal(store.frames(i), frames[i].astype(np.float32))
    assert [sernet.EMOTIONS[c] for c in store.labels] == labels
    np.testing.assert_array_equal(store.speakers, speakers)
    np.testing.assert_array_equal(store.lengths, [len(x) for x in frames])
    parts = {s: set(store.speakers[store.split_indices(s)]) for s in ("train", "val", "test")}
    assert all(parts.values())
    assert not (parts["train"] & parts["val"] or parts["train"] & parts["test"] or parts["val"] & parts["test"])
    assert sum(len(store.split_indices(s)) for s in parts) == 40
    # the same split as the corpus preparers' speaker_split, so it is deterministic
    assert FeatureStore.from_arrays(frames, labels, speakers=speakers).index["split"].tolist() == \
        store.index["split"].tolist()


def test_from_arrays_normalisation_is_fitted_on_the_train_split_only():
    frames = _frames(12)
    splits = ["train"] * 8 + ["val"] * 2 + ["test"] * 2
    store = FeatureStore.from_arrays(frames, [0, 1, 2] * 4, splits=splits)
    train = np.concatenate(frames[:8])
    np.testing.assert_allclose(store.norm_mean, train.mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(store.norm_std, train.std(axis=0), rtol=1e-4, atol=1e-5)
    z = np.concatenate([store.normalize(store.frames(i)) for i in range(8)])
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-4)
    assert store.index["split"].tolist() == splits
    assert list(store.labels[:3]) == [0, 1, 2]  # integer labels index `classes` (default EMOTIONS)


def test_from_arrays_integer_labels_index_the_given_classes():
    store = FeatureStore.from_arrays(_frames(6), [0, 1, 0, 1, 0, 1], splits=["train"] * 4 + ["val", "test"],
                                     classes=("sad", "angry"))
    assert store.index["label"].tolist() == ["sad", "angry"] * 3
    assert store.info["classes"] == ["sad", "angry"]


def test_from_arrays_feeds_the_input_pipeline_and_cross_corpus_views():
    from sernet.analysis.cross_corpus import restrict
    from sernet.train.batches import split_batches

    cfg = sernet.config.override(sernet.load_config("smoke"), {"features.max_length": 32, "train.batch_size": 4})
    store = FeatureStore.from_arrays(_frames(30), ["angry", "sad", "happy"] * 10,
                                     speakers=[f"s{i % 6}" for i in range(30)])
    ds = split_batches(store, "train", cfg, training=True)
    inputs, y = ds[0]
    assert inputs["features"].shape == (4, 32, N_STORED) and inputs["mask"].shape == (4, 32)
    assert y.shape == (4, sernet.NUM_CLASSES) and np.isfinite(inputs["features"]).all()
    view = restrict(store, ["angry", "sad"])
    assert set(view.index["label"]) == {"angry", "sad"} and view.n == 20
    np.testing.assert_array_equal(view.frames(0), store.frames(0))  # offsets still address the frames
    assert dataclasses.is_dataclass(view) and "in memory" in repr(store)


@pytest.mark.parametrize("change, message", [
    ({"frames": [np.zeros((10, 180))] * 3}, r"frames\[0\] has shape \(10, 180\)"),
    ({"frames": [np.zeros((0, N_STORED))] * 3}, r"frames\[0\] has shape"),
    ({"frames": [np.full((5, N_STORED), np.nan)] * 3}, r"frames\[0\] holds NaN"),
    ({"frames": []}, "no utterances"),
    ({"labels": ["angry", "sad"]}, "2 labels for 3 utterances"),
    ({"labels": ["angry", "calm", "sad"]}, r"labels\[1\] = 'calm' is not one of the classes"),
    ({"labels": [0, 8, 1]}, r"labels\[1\] = 8 is outside \[0, 8\)"),
    ({"splits": ["train", "dev", "test"]}, r"unknown split name\(s\) \['dev'\]"),
    ({"splits": None, "speakers": ["a", "a", "b"]}, "at least 3"),
])
def test_from_arrays_rejects_bad_input(change, message):
    args = {"frames": _frames(3), "labels": ["angry", "sad", "happy"], "speakers": None,
            "splits": ["train", "val", "test"], **change}
    with pytest.raises(SernetError, match=message):
        FeatureStore.from_arrays(**args)


def test_evaluate_needs_a_config_for_a_model_and_a_present_split():
    store = FeatureStore.from_arrays(_frames(6), [0, 1] * 3, splits=["train"] * 6)
    with pytest.raises(SernetError, match="none of the splits"):
        sernet.evaluate("some/run", store)
    store = FeatureStore.from_arrays(_frames(6), [0, 1] * 3, splits=["train"] * 4 + ["test"] * 2)
    with pytest.raises(SernetError, match="pass cfg="):
        sernet.evaluate(object(), store)


# ------------------------------------------------------------------------ README example and Keras load
def readme_example() -> str:
    """The python block of README.md's "sernet in your own experiment" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## sernet in your own experiment", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the section holds one python block"
    return blocks[0]


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory) -> tuple[Path, str]:
    """Run the README example in a fresh interpreter, in an empty folder."""
    cwd = tmp_path_factory.mktemp("readme")
    out = _python(readme_example(), cwd=cwd, env={"SERNET_HOME": str(cwd / "home")})
    return cwd / "runs" / "my-experiment", out


def test_readme_example_runs(readme_run):
    run, out = readme_run
    lines = out.strip().splitlines()
    assert 0.0 <= float(lines[-2]) <= 1.0  # the test UAR
    assert lines[-1] in (*sernet.EMOTIONS, "no_speech")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2 and {"val", "test"} <= set(metrics)


LOAD = textwrap.dedent("""
    import sys
    {imports}
    model = {load}({path!r}, compile=False)
    print(model.output.shape[-1], sorted({{type(layer).__name__ for layer in model.layers}} & {{"FeatureGroup",
          "MelProjection", "TemporalAttentionPooling"}}))
""")


@pytest.mark.parametrize("imports, load", [
    ("import sernet\nimport keras", "keras.saving.load_model"),
    ("import keras\nimport sernet", "keras.saving.load_model"),
    # TensorFlow probes for keras (importlib.util.find_spec) before importing it within its own import
    ("import sernet\nimport tensorflow as tf", "tf.keras.models.load_model"),
])
def test_keras_load_model_opens_a_run_after_import_sernet(readme_run, imports, load):
    run, _ = readme_run
    code = LOAD.format(imports=imports, load=load, path=str(run / "model.keras"))
    out = _python(f"import warnings\nwarnings.simplefilter('error', RuntimeWarning)\n{code}")
    assert out.strip().splitlines()[-1] == "8 ['FeatureGroup', 'MelProjection', 'TemporalAttentionPooling']"
