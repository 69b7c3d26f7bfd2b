"""The label set comes from the corpus: fixture corpora prepared with ``--labels native`` train and predict
with their own classes (RAVDESS ``calm``, EmoDB ``boredom``, IEMOCAP's 4 classes as a 4-output model,
CREMA-D's 6), and a run scores another corpus over the classes they share."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _train_fakes import tiny_cli_args, tiny_config
from fixtures_corpora import BUILDERS

import sernet
from sernet import workspace
from sernet.analysis import metrics
from sernet.cli import main as cli_main
from sernet.data.corpora import CORPORA, prepare
from sernet.deploy.predictor import Predictor
from sernet.errors import SernetError
from sernet.features.cache import FeatureStore
from sernet.labels import EMOTIONS, classes_of, corpus_classes, read_classes_file, shared_classes
from sernet.train import train
from sernet.train.trainer import evaluate_run_on

NATIVE = {"ravdess": "calm", "emodb": "boredom", "iemocap": None, "crema_d": None}


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    """Each corpus built, prepared with --labels native, extracted and trained 1 epoch (once per module)."""
    cache = {}

    def run(name):
        if name not in cache:
            base = tmp_path_factory.mktemp(name)
            fx = BUILDERS[name](base / "release")
            prepare(name, fx.root, base / "prepared", labels="native")
            cfg = tiny_config(**{"train.epochs": 1, "data_root": str(base / "prepared"),
                                 "home": str(base / "home")})
            store = workspace.feature_store(cfg, workers=1)
            result = train(cfg, store, base / "run", verbose=0)
            cache[name] = (fx, base / "prepared", store, result, cfg)
        return cache[name]

    return run


@pytest.mark.parametrize("name", list(NATIVE))
def test_native_corpus_trains_and_predicts_with_its_own_classes(native, name):
    fx, prepared, store, result, _ = native(name)
    classes = CORPORA[name].native_classes
    assert corpus_classes(prepared) == classes == store.classes
    assert store.info["classes"] == list(classes)  # recorded in the cache's complete.json
    assert FeatureStore.open(store.path).classes == classes
    assert sorted(np.unique(store.labels)) == sorted(classes.index(c) for c in set(store.index["label"]))
    if NATIVE[name]:
        assert NATIVE[name] in set(store.index["label"])

    run = result.run_dir
    model = result.load_model()
    assert model.output.shape[-1] == len(classes)
    assert run.read_classes() == classes
    preds = run.read_predictions()
    assert [c for c in preds.columns if c.startswith("prob_")] == [f"prob_{c}" for c in classes]
    assert set(preds["true"]) <= set(classes) and set(preds["predicted"]) <= set(classes)
    np.testing.assert_allclose(preds.filter(like="prob_").sum(axis=1), 1.0, atol=1e-5)
    for split in ("val", "test"):
        if split in result.metrics:
            assert result.metrics[split]["classes"] == list(classes)

    predictor = Predictor.load(run.path)
    assert predictor.classes == classes
    wav = next(p for p in store.index["path"])
    out = predictor.predict(wav)
    assert list(out.probabilities) == list(classes) and out.label in classes


def test_iemocap_four_class_protocol_is_a_four_output_model(native):
    _, _, store, result, _ = native("iemocap")
    assert store.classes == ("neutral", "angry", "sad", "happy")
    assert result.load_model().output.shape[-1] == 4
    m = result.metrics["test"]
    assert len(m["confusion"]) == 4 and list(m["per_class"]) == list(store.classes)


def test_per_class_table_has_paper_columns_only_for_the_papers_classes(native):
    _, _, _, result, _ = native("emodb")
    table = metrics.per_class_table(result.metrics["test"])
    assert list(table.index) == list(CORPORA["emodb"].native_classes)
    assert table.loc["boredom", ["paper_precision", "paper_recall", "paper_F1"]].isna().all()
    assert table.loc["angry", ["paper_precision", "paper_recall", "paper_F1"]].notna().all()


def test_a_run_scores_another_corpus_over_the_shared_classes(native, tmp_path, capsys):
    _, _, _, ravdess, cfg = native("ravdess")
    _, iemocap_dir, iemocap, _, _ = native("iemocap")
    out = evaluate_run_on(ravdess.run_dir, iemocap, splits=("test",))
    expected = tuple(c for c in CORPORA["ravdess"].native_classes
                     if c in set(iemocap.index.loc[iemocap.index["split"] == "test", "label"]))
    assert tuple(out["shared_classes"]) == expected
    assert set(expected) <= {"neutral", "happy", "sad", "angry"}
    assert out["test"]["classes"] == list(expected)
    assert len(out["test"]["confusion"]) == len(expected)

    code = cli_main([*tiny_cli_args(), "--set", f"home={cfg.home}", "evaluate", "--run", str(ravdess.run_dir.path),
                     "--data", str(iemocap_dir), "--out", str(tmp_path)])
    text = capsys.readouterr().out
    assert code == 0
    assert f"shared classes ({len(expected)}): {', '.join(expected)}" in text
    assert "calm" in text  # named as a run class that is not scored
    assert (tmp_path / "data_test_metrics.json").exists()


def test_evaluate_with_no_shared_classes_names_both_label_sets(tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.normal(size=(20, 268)) for _ in range(12)]
    spk = [f"s{i % 4}" for i in range(12)]
    splits = ["train"] * 6 + ["val"] * 3 + ["test"] * 3
    a = FeatureStore.from_arrays(frames, ["calm", "bored"] * 6, speakers=spk, splits=splits,
                                 classes=("calm", "bored"))
    result = train(tiny_config(**{"train.epochs": 1}), a, tmp_path / "run", verbose=0)
    assert result.load_model().output.shape[-1] == 2
    assert result.run_dir.read_classes() == ("calm", "bored")
    b = FeatureStore.from_arrays(frames, ["angry", "sad"] * 6, speakers=spk, splits=splits)
    with pytest.raises(SernetError, match="share 0 class"):
        evaluate_run_on(result.run_dir, b)


def test_store_label_helpers(tmp_path):
    assert read_classes_file(tmp_path) is None and corpus_classes(tmp_path) == EMOTIONS
    (tmp_path / "classes.txt").write_text("calm\nbored\n\n")
    assert corpus_classes(tmp_path / "manifest.csv") == ("calm", "bored")
    (tmp_path / "classes.txt").write_text("calm\ncalm\n")
    with pytest.raises(ValueError, match="twice"):
        read_classes_file(tmp_path)
    assert classes_of(object()) == EMOTIONS
    assert shared_classes(("a", "b", "c"), ("c", "a")) == ("a", "c")
    with pytest.raises(sernet.errors.ConfigError, match="at least 2"):
        sernet.model.build_sernet(tiny_config(), n_classes=1)


def test_exports_carry_the_class_names(tmp_path):
    from sernet.deploy.predictor import read_classes, write_metadata

    cfg = tiny_config()
    write_metadata(tmp_path, cfg, np.zeros(268), np.ones(268), classes=("calm", "bored"))
    assert read_classes(tmp_path) == ("calm", "bored")
    assert json.loads((tmp_path / "config.json").read_text())["classes"] == ["calm", "bored"]
    write_metadata(tmp_path / "old", cfg, np.zeros(268), np.ones(268))
    assert read_classes(tmp_path / "old") == EMOTIONS


def test_predictor_refuses_class_names_that_do_not_match_the_outputs():
    cfg = tiny_config()
    model = sernet.model.build_sernet(cfg, classes=("calm", "bored", "x"))
    with pytest.raises(SernetError, match="3 outputs but 8 class names"):
        Predictor.from_model(model, cfg, np.zeros(268), np.ones(268))
    p = Predictor.from_model(model, cfg, np.zeros(268), np.ones(268), classes=("calm", "bored", "x"))
    assert p.classes == ("calm", "bored", "x")


def test_cross_corpus_matrix_matches_native_label_sets_by_name(native):
    """RAVDESS (8 native classes, with calm) against CREMA-D (6): the shared classes are matched by name, in the
    first corpus's order, and each model is scored through its own output order."""
    from sernet.analysis import cross_corpus

    _, rav_dir, rav, _, cfg = native("ravdess")
    _, cre_dir, cre, _, _ = native("crema_d")
    corpora = {"ravdess": cross_corpus.Corpus("ravdess", rav_dir / "manifest.csv", rav),
               "crema_d": cross_corpus.Corpus("crema_d", cre_dir / "manifest.csv", cre)}
    result = cross_corpus.cross_corpus_matrix(cfg, corpora=corpora)
    order = [c for c in CORPORA["ravdess"].native_classes if c in CORPORA["crema_d"].native_classes]
    assert list(result.classes) == [c for c in order if c in set(result.classes)] and "calm" not in result.classes
    assert len(result.classes) >= 2
    for m in result.metrics.values():
        assert m["classes"] == list(result.classes) and 0.0 <= m["uar"] <= 1.0
    assert result.runs["ravdess"] != result.runs["crema_d"]


def test_reproduce_on_a_native_label_set(native, tmp_path, monkeypatch, capsys):
    """``sernet reproduce`` on RAVDESS with its own 8 classes: tables over the corpus's classes, chance from
    the label set, the paper's §5.2 pairs only where both classes exist."""
    _, prepared, _, _, cfg = native("ravdess")
    monkeypatch.setenv("SERNET_DATA", str(prepared))
    out = tmp_path / "report"
    code = cli_main([*tiny_cli_args(**{"train.epochs": 1}), "--set", f"home={cfg.home}", "reproduce",
                     "--steps", "corpus,dataset,features,train,evaluate,report", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert "8 classes)" in text and "calm" in text and "no side-by-side shares" in text
    report = (out / "report.md").read_text()
    assert "8 classes, chance UAR 12.5 %" in report and "calm" in report
