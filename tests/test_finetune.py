"""Fine-tuning (``train(..., init=RUN)``, ``sernet train --init``): weights copied by layer name, the head
replaced when the label set differs, the normalisation stated (refit or reused), the encoder frozen for the
first epochs on request."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _train_fakes import tiny_cli_args, tiny_config

from sernet.backend import keras
from sernet.cli import main as cli_main
from sernet.errors import SernetError
from sernet.features.cache import FeatureStore
from sernet.labels import EMOTIONS
from sernet.train import RunDir, train
from sernet.train.trainer import copy_weights_by_name, plan_init

FOUR = ("neutral", "angry", "sad", "happy")  # IEMOCAP's 4-class protocol, in its own order


def _store(classes, n_per_class=8, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    frames, labels, speakers = [], [], []
    for i in range(n_per_class * len(classes)):
        c = i % len(classes)
        x = rng.normal(size=(int(rng.integers(20, 40)), 268)) + shift
        x[:, c] += 2.0
        frames.append(x)
        labels.append(classes[c])
        speakers.append(f"spk{i % 10}")
    return FeatureStore.from_arrays(frames, labels, speakers=speakers, classes=classes)


def _kernel(model, layer="projection"):
    return np.asarray(keras().ops.convert_to_numpy(model.get_layer(layer).kernel))


class Snapshot(keras().callbacks.Callback):
    """Records the ``projection`` kernel and the head's kernel when training begins and after each epoch."""

    def __init__(self):
        super().__init__()
        self.begin, self.head_begin, self.epochs, self.heads = None, None, [], []

    def _values(self, part):
        return [np.array(keras().ops.convert_to_numpy(v.value)) for v in self.model.variables
                if v.path.endswith(f"{part}/kernel")]

    def on_train_begin(self, logs=None):
        if self.begin is None:
            self.begin = self._values("projection")[0]
            self.head_begin = self._values("logits")[0]

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(self._values("projection")[0])
        self.heads.append(self._values("logits")[0])


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """An 8-class base run."""
    run_dir = tmp_path_factory.mktemp("base") / "run"
    return train(tiny_config(**{"train.epochs": 2}), _store(EMOTIONS), run_dir, verbose=0)


def test_fine_tuning_onto_four_classes_copies_the_encoder_and_replaces_the_head(base, tmp_path):
    target = _store(FOUR, seed=1, shift=0.5)
    snap = Snapshot()
    result = train(tiny_config(**{"train.epochs": 2}), target, tmp_path / "ft", init=base.run_dir.path,
                   callbacks=(snap,), verbose=0)
    model = result.load_model()
    assert model.output.shape[-1] == 4
    base_model = base.load_model()
    np.testing.assert_array_equal(snap.begin, _kernel(base_model))  # the encoder started from the base run
    assert not np.allclose(_kernel(model), _kernel(base_model))  # ... and then trained
    assert result.run_dir.read_classes() == FOUR
    init = json.loads(result.run_dir.config_json.read_text())["init"]
    assert init["head"] == "replaced" and init["norm"] == "refit" and init["base_classes"] == list(EMOTIONS)
    mean, _ = result.run_dir.read_norm_stats()
    np.testing.assert_allclose(mean, target.norm_mean)  # refit: the new corpus's statistics


def test_same_classes_copy_the_head_and_reuse_keeps_the_base_statistics(base, tmp_path):
    snap = Snapshot()
    result = train(tiny_config(**{"train.epochs": 1}), _store(EMOTIONS, seed=2, shift=1.0), tmp_path / "ft",
                   init=base.run_dir.path, norm="reuse", callbacks=(snap,), verbose=0)
    init = json.loads(result.run_dir.config_json.read_text())["init"]
    assert init["head"] == "copied" and init["norm"] == "reuse"
    base_mean, base_std = base.run_dir.read_norm_stats()
    mean, std = result.run_dir.read_norm_stats()
    np.testing.assert_array_equal(mean, base_mean)
    np.testing.assert_array_equal(std, base_std)


def test_freeze_epochs_train_only_the_head_first(base, tmp_path):
    snap = Snapshot()
    train(tiny_config(**{"train.epochs": 3}), _store(FOUR, seed=3), tmp_path / "ft", init=base.run_dir.path,
          freeze_epochs=1, callbacks=(snap,), verbose=0)
    base_kernel = _kernel(base.load_model())
    np.testing.assert_array_equal(snap.epochs[0], base_kernel)  # frozen during epoch 1
    assert not np.allclose(snap.heads[0], snap.head_begin)  # while the head trained
    assert len(snap.epochs) >= 2 and not np.allclose(snap.epochs[-1], base_kernel)  # then it trains


def test_fine_tune_errors_are_clear(base, tmp_path):
    store = _store(FOUR)
    with pytest.raises(SernetError, match="not a finished run"):
        plan_init(tmp_path / "nothing", store)
    with pytest.raises(SernetError, match="--norm"):
        plan_init(base.run_dir.path, store, norm="sometimes")
    other = tiny_config(**{"model.channels": 16})
    from sernet.model import build_sernet

    with pytest.raises(SernetError, match="does not match"):
        copy_weights_by_name(base.load_model(), build_sernet(other, n_classes=4), skip=("logits",))


def test_plan_describes_the_head_and_normalisation(base):
    text = plan_init(base.run_dir.path, _store(FOUR), norm="refit", freeze_epochs=2).describe()
    assert "head replaced: 8 classes" in text and "4 (neutral, angry, sad, happy)" in text
    assert "normalisation: refit" in text and "first 2 epoch" in text


def test_cli_train_init_needs_init_for_its_options(capsys):
    assert cli_main([*tiny_cli_args(), "train", "--freeze-epochs", "2"]) == 2
    assert "--init" in capsys.readouterr().err


def test_cli_fine_tune_prints_the_plan(base, tmp_path, capsys):
    import pandas as pd
    import soundfile as sf

    # a 4-class prepared corpus folder: manifest.csv + classes.txt
    root = tmp_path / "corpus"
    (root / "wav").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(24):
        t = np.arange(8000) / 16000
        y = (0.3 * np.sin(2 * np.pi * (120 + 15 * (i % 4)) * t) + 0.01 * rng.standard_normal(t.size))
        path = root / "wav" / f"u{i:02d}.wav"
        sf.write(path, y.astype(np.float32), 16000)
        split = "train" if i % 6 < 4 else ("val" if i % 6 == 4 else "test")
        rows.append({"path": f"wav/u{i:02d}.wav", "label": FOUR[i % 4], "speaker": f"s{i % 6}", "split": split,
                     "duration_s": 0.5})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    (root / "classes.txt").write_text("\n".join(FOUR) + "\n")
    args = [*tiny_cli_args(**{"train.epochs": 1}), "--set", f"home={tmp_path / 'home'}", "train",
            "--data", str(root), "--init", str(base.run_dir.path), "--run-dir", str(tmp_path / "ft")]
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert "classes (4): neutral, angry, sad, happy" in out
    assert "head replaced" in out and "normalisation: refit on this corpus's train split" in out
    assert RunDir(tmp_path / "ft").read_classes() == FOUR


class _Killed(Exception):
    pass


def _kill_after(epoch: int):
    class Kill(keras().callbacks.Callback):
        def on_epoch_end(self, e, logs=None):
            if e + 1 == epoch:
                raise _Killed(f"killed after epoch {epoch}")

    return Kill()


@pytest.mark.parametrize("kill_at", [1, 2], ids=["inside-frozen-phase", "end-of-frozen-phase"])
def test_killed_fine_tune_resumes_to_the_same_result(base, tmp_path, kill_at):
    cfg = tiny_config(**{"train.epochs": 3, "train.early_stopping_patience": 5})
    target = _store(FOUR, seed=4)
    kwargs = {"init": base.run_dir.path, "freeze_epochs": 2, "verbose": 0}
    full = train(cfg, target, tmp_path / "full", **kwargs)
    with pytest.raises(_Killed):
        train(cfg, target, tmp_path / "killed", callbacks=(_kill_after(kill_at),), **kwargs)
    resumed = train(cfg, target, tmp_path / "killed", **kwargs)
    assert resumed.metrics == full.metrics
    np.testing.assert_allclose(resumed.history["loss"], full.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(_kernel(resumed.load_model()), _kernel(full.load_model()), atol=1e-6)


def test_evaluate_scores_an_eight_class_run_on_a_four_class_corpus_over_shared_classes(base):
    import sernet

    target = _store(FOUR, seed=5)
    scores = sernet.evaluate(base.run_dir.path, target, splits=("test",))
    assert list(scores) == ["test"]
    present = set(target.index.loc[target.index["split"] == "test", "label"])
    expected = [c for c in EMOTIONS if c in present]  # the run's order, the classes the test split has
    assert len(expected) >= 2 and scores["test"]["classes"] == expected
    assert len(scores["test"]["confusion"]) == len(expected)
