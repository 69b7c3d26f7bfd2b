"""Knowledge distillation (``sernet.train.distill``, ``sernet distill``): the loss against a NumPy
reference, the student's size rule, a distillation run (teacher frozen, student a normal run directory),
the student's export parity and the CLI."""

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
from sernet.train import RunDir, TrainResult
from sernet.train.distill import (
    check_student_size,
    count_params,
    distill,
    distillation_loss,
    student_config,
)

# The student of the tiny teacher (_train_fakes.TINY): narrower still.
STUDENT = {"distill.student_conv_filters": (2, 2), "distill.student_channels": 4,
           "distill.student_mel_projection_dim": 2, "distill.student_pooling_units": 4,
           "distill.student_dense_units": 4, "distill.max_param_ratio": 0.9}


def _np(x):
    return np.asarray(keras().ops.convert_to_numpy(x), dtype=np.float64)


def reference_loss(y, t, s, temperature, alpha):
    """Hinton et al. (2015) in NumPy: alpha T^2 KL(p_t^T || p_s^T) + (1 - alpha) CE(y, p_s)."""
    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    pt, ps = softmax(t / temperature), softmax(s / temperature)
    kl = (pt * (np.log(pt) - np.log(ps))).sum(axis=1)
    ce = -(y * np.log(softmax(s))).sum(axis=1)
    return alpha * temperature**2 * kl + (1 - alpha) * ce


@pytest.mark.parametrize(("temperature", "alpha"), [(1.0, 0.5), (4.0, 0.7), (2.5, 1.0), (3.0, 0.0)])
def test_distillation_loss_matches_numpy(temperature, alpha):
    rng = np.random.default_rng(0)
    t, s = rng.normal(scale=3, size=(16, 8)), rng.normal(scale=3, size=(16, 8))
    y = np.eye(8)[rng.integers(0, 8, size=16)]
    got = _np(distillation_loss(y, t, s, temperature=temperature, alpha=alpha))
    np.testing.assert_allclose(got, reference_loss(y, t, s, temperature, alpha), rtol=1e-5, atol=1e-5)


def test_distillation_loss_known_cases():
    y = np.eye(3)[[0, 2]]
    z = np.array([[3.0, 1.0, -2.0], [0.0, 0.5, 1.0]])
    # student == teacher: the soft term vanishes at any T; alpha=1 leaves nothing
    np.testing.assert_allclose(_np(distillation_loss(y, z, z, temperature=4.0, alpha=1.0)), 0.0, atol=1e-6)
    # alpha=0: plain cross-entropy of the hard labels, whatever the teacher says
    ce = -np.log(np.exp(z[[0, 1], [0, 2]]) / np.exp(z).sum(axis=1))
    np.testing.assert_allclose(_np(distillation_loss(y, z[::-1], z, temperature=9.0, alpha=0.0)), ce, rtol=1e-6)


def test_the_smoke_student_holds_under_a_tenth_of_the_base():
    cfg = load_config("smoke")
    teacher, student = build_sernet(cfg), build_sernet(student_config(cfg))
    ratio = check_student_size(count_params(student), count_params(teacher), cfg)
    assert 0 < ratio <= 0.1
    s = student_config(cfg).model
    assert s.conv_filters == cfg.distill.student_conv_filters and s.attention_heads == 1
    assert len(s.dilation_rates) == len(s.conv_filters)
    with pytest.raises(ConfigError, match="max_param_ratio"):
        check_student_size(count_params(teacher), count_params(teacher), cfg)


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


def _teacher_run(cfg, store, path):
    """A finished run directory holding an untrained SER-Net (the distillation's mechanics need no trained
    teacher; tests/test_train.py covers training)."""
    run = RunDir(path)
    keras().utils.set_random_seed(1)
    model = build_sernet(cfg, len(store.classes))
    run.write_config(cfg, classes=list(store.classes))
    run.write_norm_stats(store.norm_mean, store.norm_std)
    model.save(run.model_file)
    run.metrics_json.write_text("{}")
    run.history_csv.write_text("epoch\n")
    return TrainResult.load(run)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("distill")
    store = _store()
    cfg = tiny_config(**{"train.epochs": 1}, **STUDENT)
    teacher = _teacher_run(cfg, store, root / "teacher")
    before = [w.copy() for w in teacher.load_model().get_weights()]
    student = distill(cfg, store, teacher.run_dir.path, root / "student")
    return {"cfg": cfg, "store": store, "teacher": teacher, "student": student, "before": before, "root": root}


def test_distilled_student_is_a_run_directory_and_the_teacher_is_untouched(runs):
    student, teacher = runs["student"], runs["teacher"]
    run = student.run_dir
    assert run.complete and run.read_payload()["kind"] == "distill"
    assert run.read_config().model.channels == STUDENT["distill.student_channels"]
    model = run.load_model()
    assert count_params(model) == student.metrics["params"] < student.metrics["teacher_params"]
    assert 0 <= student.metrics["test"]["uar"] <= 1 and len(student.history) == student.metrics["epochs_run"]
    for a, b in zip(runs["before"], RunDir(teacher.run_dir.path).load_model().get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_distill_refuses_a_teacher_of_other_classes(runs, tmp_path):
    four = FeatureStore.from_arrays([np.zeros((20, 268))] * 8, ["neutral", "angry", "sad", "happy"] * 2,
                                    speakers=[f"s{i}" for i in range(8)], classes=("neutral", "angry", "sad", "happy"))
    with pytest.raises(SernetError, match="classes"):
        distill(runs["cfg"], four, runs["teacher"].run_dir.path, tmp_path / "x")


def test_student_int8_export_parity(runs):
    from sernet.analysis.edge import eval_windows, export_int8
    from sernet.deploy.runners import KerasRunner, LiteRTRunner

    run = runs["student"].run_dir
    cfg = run.read_config()
    tflite = export_int8(run.path, runs["root"] / "export")
    feats, mask, _, _ = eval_windows(runs["store"], cfg)
    ref = KerasRunner(run.load_model(), cfg.features.max_length).logits(feats, mask)
    got = LiteRTRunner(tflite, num_threads=1).logits(feats, mask)
    assert np.abs(got - ref).max() <= cfg.deploy.parity_atol_int8
    assert (got.argmax(1) == ref.argmax(1)).mean() >= 0.75


def test_cli_distill(runs, tmp_path, capsys):
    args = [*tiny_cli_args(**{"train.epochs": 1}), *sum((["--set", f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}"]
                                                          for k, v in STUDENT.items()), []),
            "distill", "--teacher", str(tmp_path / "missing"), "--run-dir", str(tmp_path / "s")]
    assert cli_main(args) == 2
    assert "not a finished run" in capsys.readouterr().err


def test_student_verdict_is_a_paired_bootstrap_over_test_speakers(runs, tmp_path):
    from sernet.analysis.edge import student_verdict

    student = runs["student"].run_dir.path
    same = student_verdict(runs["cfg"], runs["store"], student, student)  # a run against itself: exactly 0
    assert same.interval.estimate == 0.0 and same.interval.low == 0.0 == same.interval.high
    assert same.claim == "distilled student vs student alone" and same.rule
    import shutil

    perfect = tmp_path / "perfect"  # the student's run with every test prediction right
    shutil.copytree(student, perfect)
    p = RunDir(perfect).read_predictions()
    p["predicted"] = p["true"]
    p.to_csv(RunDir(perfect).predictions_csv, index=False)
    worse = student_verdict(runs["cfg"], runs["store"], student, perfect)
    uar = runs["student"].metrics["test"]["uar"]
    assert worse.interval.estimate == pytest.approx(100 * uar - 100)
    assert worse.interval.low <= worse.interval.estimate <= worse.interval.high <= 0


def test_cli_distill_record_needs_compare(runs, tmp_path, capsys):
    args = [*tiny_cli_args(**{"train.epochs": 1}), "distill", "--teacher", str(runs["teacher"].run_dir.path),
            "--run-dir", str(tmp_path / "s"), "--record", "x"]
    assert cli_main(args) == 2
    assert "--record NAME needs --compare" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
