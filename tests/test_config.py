"""The config: profiles, environment selection, overrides, fingerprints."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from sernet import config, paper
from sernet.errors import ConfigError


def test_default_profile_is_smoke_and_env_selects(monkeypatch):
    monkeypatch.delenv("SERNET_PROFILE", raising=False)
    assert config.load().profile == "smoke"
    monkeypatch.setenv("SERNET_PROFILE", "full")
    assert config.load().profile == "full"


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown profile 'huge'"):
        config.load("huge")


def test_data_and_home_from_environment(tmp_path):
    cfg = config.load("smoke", SERNET_DATA=str(tmp_path / "corpus"), SERNET_HOME=str(tmp_path / "h"))
    assert cfg.data_root == str(tmp_path / "corpus")
    assert cfg.home == str(tmp_path / "h")


def test_full_profile_mirrors_appendix_a():
    cfg = config.load("full")
    a = paper.APPENDIX_A
    assert cfg.features.sample_rate_hz == a["sample_rate"]
    assert cfg.features.n_mfcc == a["n_mfcc"] and cfg.features.n_mels == a["n_mels"]
    assert cfg.features.max_length == a["max_length"]
    assert list(cfg.model.conv_filters) == a["conv_filters"]
    assert list(cfg.model.dilation_rates) == a["dilation_rates"]
    assert cfg.model.residual_blocks == a["residual_blocks"]
    assert cfg.model.attention_heads == a["attention_heads"]
    assert cfg.model.dense_units == a["dense_units"]
    assert cfg.model.dropout_rate == a["dropout_rate"]
    t = cfg.train
    assert (t.batch_size, t.epochs, t.learning_rate, t.weight_decay) == (64, 100, 1e-3, 1e-4)
    assert (t.warmup_steps, t.focal_gamma, t.label_smoothing) == (1000, 2.0, 0.1)
    # The documented hop-length choice: 10 ms (paper §3.1), not Appendix A's 512 samples.
    assert cfg.features.hop_length == 160 and a["hop_length"] == 512


def test_config_is_frozen():
    cfg = config.load("smoke")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.train.epochs = 5  # type: ignore[misc]


def test_override_converts_strings_and_keeps_original():
    cfg = config.load("smoke")
    new = config.override(
        cfg, {"train.epochs": "3", "model.pooling": "mean", "model.multiscale": "false",
              "model.dilation_rates": "1,2", "features.hop_ms": "32"}
    )
    assert new.train.epochs == 3 and new.model.pooling == "mean" and new.model.multiscale is False
    assert new.model.dilation_rates == (1, 2) and new.features.hop_length == 512
    assert cfg.train.epochs != 3  # unchanged


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [("train.epoch", 3, "unknown config field"), ("train.epochs", "three", "cannot read"),
     ("model.multiscale", "maybe", "cannot read"), ("train.epochs.x", 1, "no sub-fields")],
)
def test_override_errors_name_the_field(key, value, match):
    with pytest.raises(ConfigError, match=match):
        config.override(config.load("smoke"), {key: value})


def test_fingerprint_changes_only_with_its_sections():
    cfg = config.load("smoke")
    other = config.override(cfg, {"train.epochs": 99})
    assert cfg.fingerprint("features") == other.fingerprint("features")
    assert cfg.fingerprint("train") != other.fingerprint("train")


def test_describe_lists_every_section():
    text = config.describe(config.load("smoke"))
    for section in ("[synth]", "[features]", "[model]", "[train]"):
        assert section in text


# ------------------------------------------------------------------------------------------- validation
def _enumerated_fields() -> list[tuple[str, tuple[str, ...]]]:
    """Every ``Literal`` field of the config as (dotted key, allowed values)."""
    out = []

    def walk(cls, prefix):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            hint = hints[f.name]
            if dataclasses.is_dataclass(hint):
                walk(hint, f"{prefix}{f.name}.")
            elif typing.get_origin(hint) is typing.Literal:
                out.append((f"{prefix}{f.name}", typing.get_args(hint)))

    walk(config.Config, "")
    return out


ENUMERATED = _enumerated_fields()


def test_the_enumerations_the_pipeline_compares_against_are_literals():
    keys = {k for k, _ in ENUMERATED}
    assert {"profile", "features.train_crop", "features.eval_crop", "features.cache_dtype", "model.architecture",
            "model.variant", "model.pooling", "train.loss", "train.class_weighting", "train.mixed_precision",
            "train.distribution", "cross.normalization", "cross.split", "classic.feature_set",
            "classic.class_weight"} <= keys
    allowed = dict(ENUMERATED)
    assert allowed["profile"] == config.PROFILES
    assert set(allowed["model.architecture"]) == {"sernet", "cnn", "lstm", "cnn_lstm", "egemaps_svm"}


def test_literals_agree_with_the_modules_that_use_them():
    from sernet.analysis.cross_corpus import NORMALIZATIONS
    from sernet.data.manifest import SPLITS
    from sernet.distribute import DISTRIBUTIONS
    from sernet.features.egemaps import FEATURE_SETS
    from sernet.features.normalize import CROP_MODES
    from sernet.losses import LOSSES, WEIGHTINGS
    from sernet.model.builder import ARCHITECTURES, POOLINGS, VARIANTS

    allowed = dict(ENUMERATED)
    assert set(ARCHITECTURES) | {"egemaps_svm"} == set(allowed["model.architecture"])
    pairs = [(VARIANTS, "model.variant"), (POOLINGS, "model.pooling"), (LOSSES, "train.loss"),
             (WEIGHTINGS, "train.class_weighting"), (DISTRIBUTIONS, "train.distribution"),
             (NORMALIZATIONS, "cross.normalization"), (SPLITS, "cross.split"),
             (FEATURE_SETS, "classic.feature_set"), (CROP_MODES, "features.train_crop"),
             (CROP_MODES, "features.eval_crop")]
    for values, key in pairs:
        assert set(values) == set(allowed[key]), key


@pytest.mark.parametrize(("key", "allowed"), ENUMERATED, ids=[k for k, _ in ENUMERATED])
def test_a_typo_in_an_enumerated_field_fails_on_override_listing_the_allowed_values(key, allowed):
    with pytest.raises(ConfigError) as err:
        config.override(config.load("smoke"), {key: "middle"})
    msg = str(err.value)
    assert repr(key) in msg and "'middle'" in msg
    for value in allowed:
        assert repr(value) in msg


@pytest.mark.parametrize(("key", "allowed"), ENUMERATED, ids=[k for k, _ in ENUMERATED])
def test_every_allowed_value_of_an_enumerated_field_is_accepted(key, allowed):
    cfg = config.load("smoke")
    for value in allowed:
        new = config.override(cfg, {key: value})
        section, _, name = key.rpartition(".")
        assert getattr(getattr(new, section) if section else new, name) == value


@pytest.mark.parametrize("profile", config.PROFILES)
def test_every_profile_loads_and_validates(profile):
    cfg = config.load(profile)
    assert config.validate(cfg) is cfg


@pytest.mark.parametrize(
    ("changes", "match"),
    [({"train.epochs": -1}, r"'train.epochs' = -1: expected > 0"),
     ({"train.epochs": "0"}, r"'train.epochs' = 0: expected > 0"),
     ({"train.batch_size": 0}, "train.batch_size"),
     ({"analysis.confidence": 1.5}, r"'analysis.confidence' = 1.5: expected in \(0, 1\)"),
     ({"analysis.confidence": "0"}, "analysis.confidence"),
     ({"synth.split_fractions": "0.5,0.2,0.2"}, r"split_fractions.*sum to 0.9, expected 1"),
     ({"synth.split_fractions": "0.8,0.2"}, r"split_fractions.*3 comma-separated values"),
     ({"synth.noise_fraction": 1.2}, "synth.noise_fraction"),
     ({"synth.min_duration_s": 5.0}, "longer than synth.max_duration_s"),
     ({"model.dropout_rate": 1.0}, r"model.dropout_rate.*\[0, 1\)"),
     ({"model.conv_filters": ()}, "at least one value"),
     ({"model.conv_filters": (16, -1, 16)}, "model.conv_filters"),
     ({"features.fmax_hz": 0.0}, "features.fmax_hz"),
     ({"features.pitch_floor_hz": 700.0}, "not above features.pitch_floor_hz"),
     ({"train.learning_rate": float("nan")}, "train.learning_rate"),
     ({"train.epochs": True}, r"'train.epochs' = True: expected int"),
     ({"model.multiscale": 1}, "model.multiscale"),
     ({"train.epochs": 2.5}, "train.epochs"),
     ({"classic.calibration_folds": 1}, ">= 2"),
     ({"cross.b_band_hz": (3400.0, 300.0)}, "cross.b_band_hz")],
)
def test_out_of_range_and_mistyped_values_fail_naming_field_and_value(changes, match):
    with pytest.raises(ConfigError, match=match):
        config.override(config.load("smoke"), changes)


def test_related_fields_can_change_together_in_one_override():
    cfg = config.override(config.load("smoke"), {"features.pitch_floor_hz": "700", "features.pitch_ceiling_hz": "900"})
    assert (cfg.features.pitch_floor_hz, cfg.features.pitch_ceiling_hz) == (700.0, 900.0)
    cfg = config.override(cfg, {"synth.split_fractions": "0.5,0.25,0.25", "data_root": "none"})
    assert cfg.synth.split_fractions == (0.5, 0.25, 0.25) and cfg.data_root is None


def test_a_valid_override_keeps_working_and_types_follow_the_annotations():
    cfg = config.override(config.load("smoke"), {
        "model.architecture": "egemaps_svm", "train.mixed_precision": "float32", "cross.corpora": "a=/x, b=/y",
        "classic.c_grid": "0.5,5", "train.ablation_seeds": "3", "features.cache_dtype": "float32",
        "data_root": "/data/prepared", "synth.snr_db_range": [0, 10]})
    assert cfg.model.architecture == "egemaps_svm" and cfg.train.mixed_precision == "float32"
    assert cfg.cross.corpora == ("a=/x", "b=/y") and cfg.classic.c_grid == (0.5, 5.0)
    assert cfg.train.ablation_seeds == (3,) and cfg.data_root == "/data/prepared"
    assert cfg.synth.snr_db_range == (0, 10)
    # A section on its own is validated with its dotted names.
    assert config.override(cfg.train, {"epochs": "2"}).epochs == 2
    with pytest.raises(ConfigError, match="'train.loss' = 'hinge'"):
        config.override(cfg.train, {"loss": "hinge"})


def test_load_validates_what_the_environment_sets(monkeypatch):
    monkeypatch.setenv("SERNET_PROFILE", "nightly")
    with pytest.raises(ConfigError, match="unknown profile 'nightly'.*smoke"):
        config.load()


def test_cli_typo_in_an_override_fails_before_any_work(tmp_path, monkeypatch, capsys):
    import sernet.cli
    from sernet import workspace
    from sernet.features import cache

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the config was validated")

    monkeypatch.setattr(workspace, "corpus_manifest", no_work)
    monkeypatch.setattr(cache, "extract_corpus", no_work)
    monkeypatch.setenv("SERNET_HOME", str(tmp_path / "home"))
    code = sernet.cli.main(["--set", "features.train_crop=middle", "features"])
    err = capsys.readouterr().err
    assert code == 2
    assert "features.train_crop" in err and "'middle'" in err
    assert all(repr(v) in err for v in ("random", "center", "start"))
    assert not (tmp_path / "home").exists()
