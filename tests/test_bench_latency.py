"""``sernet bench latency``'s paper-size rows and ``cost.matching_kernel_size``: the kernel size matching a
parameter count, the rows set beside Table 6.1, the sentences computed from them, the CLI sections."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny import TINY_MODEL

import sernet
from sernet import paper
from sernet.bench import latency
from sernet.cli import main
from sernet.errors import ConfigError
from sernet.model import build_sernet, cost


def tiny_cfg(**extra):
    return sernet.config.override(sernet.config.load("smoke"), {**TINY_MODEL, "features.max_length": 40, **extra})


def test_matching_kernel_size_known_answers():
    cfg = tiny_cfg()
    p = cost.parameters_by_kernel_size(cfg, (1, 5, 6))
    assert cost.matching_kernel_size(cfg, p[5]) == 5
    assert cost.matching_kernel_size(cfg, p[5] + 0.4 * (p[6] - p[5])) == 5
    assert cost.matching_kernel_size(cfg, p[5] + 0.6 * (p[6] - p[5])) == 6
    assert cost.matching_kernel_size(cfg, p[1] / 2) == 1  # below the 1-tap model: the smallest kernel
    with pytest.raises(ConfigError, match="positive"):
        cost.matching_kernel_size(cfg, 0)


def test_paper_size_models_match_the_papers_parameter_count():
    models = latency.paper_size_models(sernet.config.load("smoke"))
    stated, matched = models
    full = sernet.config.load("full")
    assert stated.cfg.model == full.model and stated.cfg.features == full.features
    assert stated.cfg.model.kernel_size == 3 and stated.parameters == build_sernet(stated.cfg).count_params()
    k = matched.cfg.model.kernel_size
    target = paper.TABLE_6_2["SER-Net Base"][0]
    neighbours = cost.parameters_by_kernel_size(stated.cfg, (k - 1, k, k + 1))
    assert matched.parameters == neighbours[k]
    assert abs(neighbours[k] - target) < min(abs(neighbours[k - 1] - target), abs(neighbours[k + 1] - target))
    assert k == 16  # Chapter 3's reading of Table 6.2
    assert matched.flops > 3 * stated.flops  # the FLOPs follow the parameters
    assert [m.row()["frames"] for m in models] == [300, 300]


def test_paper_size_models_skip_a_duplicate_when_the_stated_size_already_matches():
    stated = latency.paper_size_models(sernet.config.load("smoke"))[0]
    assert [m.name for m in latency.paper_size_models(stated.cfg, n_params=stated.parameters)] == [stated.name]


def test_paper_size_rows_and_sentences():
    cfg = tiny_cfg()
    model = build_sernet(cfg)
    flops = float(cost.flops_per_utterance(cfg, model=model).loc["total", "flops"])
    m = latency.PaperSizeModel("tiny", cfg, model, int(model.count_params()), flops)
    rows = latency.paper_size([m], [1, 2], warmup=1, repeats=2, roof=100.0)
    cpu = [r for r in rows if r["device"] == "cpu"]
    assert [r["batch"] for r in cpu] == [1, 2]
    one, two = cpu
    assert one["paper_ms"] == paper.TABLE_6_1[("CPU (Intel i9)", 1)]
    assert one["ratio_to_paper"] == pytest.approx(one["p50_ms"] / one["paper_ms"])
    assert two["paper_ms"] is None and two["ratio_to_paper"] is None  # the paper has no batch 2
    assert two["compute_floor_ms"] == pytest.approx(flops * 2 / 100.0 / 1e6)
    assert one["parameters"] == m.parameters and one["frames"] == 40
    assert all(r["best_ms"] <= r["p50_ms"] <= r["p90_ms"] for r in rows)
    (sentence, *_) = latency.describe_paper_size(rows, {"cpu": "Test CPU", "cores_used": 2, "backend": "tensorflow"})
    assert sentence.startswith("tiny:") and "Test CPU" in sentence
    assert f"= {one['ratio_to_paper']:.2f}x the paper's 42.5 ms" in sentence
    assert "batch 2 p50" in sentence and ("arithmetic" in sentence or "overheads" in sentence)


def test_describe_paper_size_calls_a_batch_at_its_floor_arithmetic_bound():
    row = {"model": "m", "device": "cpu", "parameters": 1, "gflop_per_utterance": 1.0, "frames": 300,
           "paper_platform": "CPU (Intel i9)", "batch": 32, "p50_ms": 100.0, "paper_ms": 312.8,
           "ratio_to_paper": 100.0 / 312.8}
    fast, = latency.describe_paper_size([{**row, "compute_floor_ms": 80.0}], {})
    slow, = latency.describe_paper_size([{**row, "compute_floor_ms": 10.0}], {})
    assert "80% of the roof: bound by arithmetic" in fast and "10% of the roof: bound by overheads" in slow
    assert "0.32x the paper's 312.8 ms" in fast
    # the fastest run, not the median, meets the best-of roof: a disturbed median does not hide the bound
    busy, = latency.describe_paper_size([{**row, "p50_ms": 400.0, "best_ms": 100.0, "compute_floor_ms": 80.0}], {})
    assert "fastest run, 100.0 ms, reaches 80% of the roof: bound by arithmetic" in busy


def test_cli_bench_latency_paper_size_section(capsys):
    args = ["bench", "latency", "--paths", "compiled", "--batch-sizes", "1", "--repeats", "1", "--warmup", "1",
            "--no-end-to-end"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(r["kernel_size"], r["batch"]) for r in report["paper_size"] if r["device"] == "cpu"] == [(3, 1), (16, 1)]
    assert len(report["paper_size_summary"]) == len({(r["model"], r["device"]) for r in report["paper_size"]})
    assert main([*args, "--json", "--no-paper-size"]) == 0
    assert json.loads(capsys.readouterr().out)["paper_size"] == []
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "paper-size SER-Net beside Table 6.1" in out and "k=16 (2.3 M parameters)" in out


def test_plain_build_has_sernets_parameters_and_logits_on_full_windows():
    import numpy as np

    from sernet.backend import keras
    from sernet.bench.reference import PlainRunner, copy_weights, plain_sernet
    from sernet.deploy.runners import KerasRunner

    cfg = tiny_cfg()
    keras().utils.set_random_seed(0)
    model, plain = build_sernet(cfg), plain_sernet(cfg)
    assert plain.count_params() == model.count_params()
    assert [t.name for t in plain.inputs] == ["features"]  # no mask input
    copy_weights(model, plain)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 40, 268), dtype=np.float32)
    full, ragged = np.ones((3, 40), np.float32), np.ones((3, 40), np.float32)
    ragged[:, 25:] = 0
    sernet_runner, plain_runner = KerasRunner(model, 40), PlainRunner(plain, 40)
    np.testing.assert_allclose(plain_runner.logits(x, full), sernet_runner.logits(x, full), atol=1e-5)
    # without a mask the plain build sees the padded frames: on padded windows it is not SER-Net
    x_pad = x.copy()
    x_pad[:, 25:] = 5.0
    assert np.max(np.abs(plain_runner.logits(x_pad, ragged) - sernet_runner.logits(x_pad, ragged))) > 1e-3


def test_plain_build_rejects_an_ablation_and_copy_weights_a_mismatch():
    from sernet.bench.reference import copy_weights, plain_sernet
    from sernet.errors import SernetError

    with pytest.raises(SernetError, match="paper's full diagram"):
        plain_sernet(tiny_cfg(**{"model.pooling": "mean"}))
    with pytest.raises(SernetError, match="copy_weights"):
        copy_weights(build_sernet(tiny_cfg()), plain_sernet(tiny_cfg(**{"model.channels": 32})))


def test_cli_bench_latency_reference_section(capsys):
    from sernet.bench.latency import REFERENCE_PATHS

    sets = [a for k, v in TINY_MODEL.items()
            for a in ("--set", f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}")]
    args = [*sets, "--set", "features.max_length=40", "bench", "latency", "--paths", "compiled", "--batch-sizes",
            "1,2", "--repeats", "1", "--warmup", "1", "--no-end-to-end", "--no-paper-size", "--reference"]
    assert main([*args, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["reference"]
    paths = [p for p in REFERENCE_PATHS if latency.bf16_available() or "bf16" not in p]
    assert [(r["path"], r["batch"]) for r in rows] == [(p, b) for b in (1, 2) for p in paths]
    for r in rows:
        assert r["p90_ms"] >= r["p50_ms"] >= r["best_ms"] > 0 and r["ratio_to_reference"] > 0
        assert 0.0 <= r["label_agreement"] <= 1.0 and r["max_abs_dlogit"] >= 0.0
        assert r["parity_masks"] == ("full" if r["path"].startswith("reference") else "ragged")
    by = {(r["path"], r["batch"]): r for r in rows}
    assert by[("reference", 1)]["ratio_to_reference"] == 1.0 and by[("reference", 1)]["ratio_ci95"] == [1.0, 1.0]
    for r in rows:
        lo, hi = r["ratio_ci95"]
        assert lo <= hi and lo > 0
    # float32 paths are sernet's model to float32 rounding; the plain build too, on full windows
    for path in ("reference", "compiled", "compiled_masked", "xla", "onnx_fp32"):
        assert by[(path, 1)]["max_abs_dlogit"] <= 1e-4 and by[(path, 1)]["label_agreement"] == 1.0
    if latency.bf16_available():
        assert by[("compiled_bf16", 1)]["max_abs_dlogit"] > 0  # reduced precision is not float32


def test_ratio_interval_pairs_rounds_and_brackets_the_ratio_of_medians():
    rng = np.random.default_rng(0)
    load = rng.uniform(1.0, 3.0, 200)  # a load shared by both paths of a round
    reference, path = 10.0 * load, 8.0 * load * rng.uniform(0.98, 1.02, 200)
    lo, hi = latency.ratio_interval(path, reference)
    assert lo <= float(np.median(path) / np.median(reference)) <= hi
    assert 0.7 < lo < 0.8 < hi < 0.9
