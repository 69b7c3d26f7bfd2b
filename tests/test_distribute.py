"""sernet.distribute: the strategy helpers, and training under their single-device forms (CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _train_fakes import FakeStore, tiny_config

import sernet
from sernet import distribute
from sernet.errors import ConfigError
from sernet.train import train

TF = sernet.backend.backend_name() == "tensorflow"


@pytest.mark.parametrize(("kind", "backend", "gpus", "expected"), [
    ("none", "tensorflow", 4, "none"),
    ("auto", "tensorflow", 0, "none"),
    ("auto", "tensorflow", 1, "none"),
    ("auto", "tensorflow", 2, "mirrored"),
    ("auto", "jax", 8, "data_parallel"),
    ("auto", "torch", 2, "none"),
    ("mirrored", "tensorflow", 0, "mirrored"),
    ("data_parallel", "jax", 0, "data_parallel"),
])
def test_resolve_picks_the_backends_own_strategy(kind, backend, gpus, expected):
    assert distribute.resolve(kind, backend=backend, n_accelerators=gpus) == expected


@pytest.mark.parametrize(("kind", "backend", "message"), [
    ("horovod", "tensorflow", "expected one of"),
    ("mirrored", "jax", "KERAS_BACKEND=tensorflow"),
    ("data_parallel", "tensorflow", "KERAS_BACKEND=jax"),
])
def test_resolve_rejects_unknown_or_foreign_strategies(kind, backend, message):
    with pytest.raises(ConfigError, match=message):
        distribute.resolve(kind, backend=backend, n_accelerators=0)


def test_negative_device_count_is_a_config_error():
    with pytest.raises(ConfigError, match="train.devices=-1"):
        distribute.make_strategy("none", devices=-1)


def test_none_means_no_strategy_and_one_replica():
    cfg = sernet.config.load("smoke")
    assert cfg.train.distribution == "none"
    with distribute.distribution_scope(cfg) as strategy:
        assert strategy is None
    assert distribute.replicas(None) == 1
    assert "one device" in distribute.describe(None)


def strategy_recorder():
    """A callback noting, when fit starts, the model's tf.distribute strategy and Keras' global distribution."""
    k = sernet.backend.keras()

    class Recorder(k.callbacks.Callback):
        seen: dict = {}

        def on_train_begin(self, logs=None):
            tf_strategy = getattr(self.model, "distribute_strategy", None)
            Recorder.seen = {"tf": type(tf_strategy).__name__ if tf_strategy is not None else None,
                             "keras": type(k.distribution.distribution()).__name__}

    return Recorder()


@pytest.mark.skipif(not TF, reason="tf.distribute.MirroredStrategy needs the TensorFlow backend")
def test_mirrored_strategy_on_one_cpu_device(tmp_path):
    strategy = distribute.make_strategy("mirrored", devices=1)
    assert type(strategy).__name__ == "MirroredStrategy"
    assert distribute.replicas(strategy) == 1
    assert "MirroredStrategy on 1 device(s)" in distribute.describe(strategy)


@pytest.mark.skipif(not TF, reason="tf.distribute.MirroredStrategy needs the TensorFlow backend")
def test_train_distribution_in_the_config_alone_trains_under_mirrored_strategy(tmp_path):
    cfg = tiny_config(**{"train.epochs": 1, "train.distribution": "mirrored", "train.devices": 1})
    recorder = strategy_recorder()
    result = train(cfg, FakeStore(n=48), tmp_path / "mirrored", resume=False, callbacks=(recorder,))
    assert recorder.seen["tf"] == "MirroredStrategy"
    assert result.metrics["epochs_run"] == 1
    assert 0.0 <= result.metrics["test"]["uar"] <= 1.0
    saved = json.loads(result.run_dir.config_json.read_text())["config"]["train"]
    assert saved["distribution"] == "mirrored"
    assert result.run_dir.complete


_JAX_SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from _train_fakes import FakeStore, tiny_config
    from test_distribute import strategy_recorder
    import sernet
    from sernet import distribute
    from sernet.train import train
    cfg = tiny_config(**{"train.epochs": 1, "train.distribution": "data_parallel"})
    strategy = distribute.strategy_from_config(cfg)
    recorder = strategy_recorder()
    result = train(cfg, FakeStore(n=32), sys.argv[2], resume=False, callbacks=(recorder,))
    print(json.dumps({"backend": sernet.backend.backend_name(), "kind": type(strategy).__name__,
                      "replicas": distribute.replicas(strategy), "during_fit": recorder.seen["keras"],
                      "after": type(sernet.backend.keras().distribution.distribution()).__name__,
                      "uar": result.metrics["test"]["uar"]}))
""")


def test_jax_data_parallel_on_one_cpu_device_trains_a_run(tmp_path):
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "SERNET_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", _JAX_SCRIPT, str(Path(__file__).parent), str(tmp_path / "run")],
                         capture_output=True, text=True, env=env, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["backend"] == "jax" and info["kind"] == "DataParallel"
    assert info["replicas"] == 1
    assert info["during_fit"] == "DataParallel"  # set globally for the run, so JAX shards the batches
    assert info["after"] == "NoneType"
    assert 0.0 <= info["uar"] <= 1.0
