"""Mixed-precision training on the CPU: the paper's fp16 path (dynamic loss scaling) and bf16 run end to end in a
short test, so the fp16 path meant for a GPU is not first run on a user's GPU."""

from __future__ import annotations

import numpy as np
import pytest
from _train_fakes import FakeStore, tiny_config

from sernet.backend import keras


class Seen(keras().callbacks.Callback):
    """Records what training ran with: the optimizer's class, the loss scale, the layers' compute dtype."""

    def on_train_end(self, logs=None):
        opt = self.model.optimizer
        self.optimizer = type(opt).__name__
        self.loss_scale = float(keras().ops.convert_to_numpy(opt.dynamic_scale)) if hasattr(opt, "dynamic_scale") \
            else None
        self.compute_dtypes = {layer.dtype_policy.compute_dtype for layer in walk(self.model)
                               if layer.name == "projection" or layer.name.startswith("residual_")}
        self.variable_dtypes = {str(v.dtype) for v in self.model.trainable_variables}


def walk(layer):
    """``layer`` and every layer inside it (the training model wraps the SER-Net)."""
    yield layer
    for inner in getattr(layer, "layers", ()):
        yield from walk(inner)


@pytest.fixture
def restore_policy():
    k = keras()
    previous = k.mixed_precision.dtype_policy()
    yield
    k.mixed_precision.set_dtype_policy(previous)


@pytest.mark.parametrize(("policy", "compute", "scaled"), [("mixed_float16", "float16", True),
                                                            ("mixed_bfloat16", "bfloat16", False)])
def test_mixed_precision_training_runs_on_the_cpu(tmp_path, restore_policy, policy, compute, scaled):
    from sernet.train import train

    cfg = tiny_config(**{"train.mixed_precision": policy, "train.epochs": 2})
    seen = Seen()
    result = train(cfg, FakeStore(n=48), tmp_path / policy, resume=False, callbacks=(seen,), verbose=0)
    assert (seen.optimizer == "LossScaleOptimizer") is scaled  # Keras wraps the optimizer for float16 only
    if scaled:
        assert seen.loss_scale is not None and seen.loss_scale > 0
    assert seen.compute_dtypes == {compute}
    assert seen.variable_dtypes == {"float32"}  # mixed precision keeps float32 weights
    assert np.isfinite(result.history["loss"]).all()
    model = result.load_model()
    x = np.zeros((2, cfg.features.max_length, 268), np.float32)
    logits = model({"features": x, "mask": np.ones((2, cfg.features.max_length), np.float32)}, training=False)
    logits = keras().ops.convert_to_numpy(logits)
    assert logits.dtype == np.float32 and np.isfinite(logits).all()


def test_cli_bench_train_reference_reports_both_throughputs(capsys, restore_policy):
    import json

    from _train_fakes import tiny_cli_args

    from sernet.cli import main

    assert main([*tiny_cli_args(), "bench", "train", "--steps", "2", "--warmup", "1", "--reference", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["utterances_per_s"] > 0 and report["reference_utterances_per_s"] > 0
    assert report["ratio_to_reference"] == pytest.approx(
        report["utterances_per_s"] / report["reference_utterances_per_s"], rel=0.01)
    assert report["reference_parameters"] == report["parameters"]  # the same diagram and widths
    assert report["dtype_policy"] == "float32"
