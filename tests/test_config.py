"""The config: profiles, environment selection, overrides, fingerprints."""

from __future__ import annotations

import dataclasses

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
