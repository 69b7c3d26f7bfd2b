"""The paper's reported numbers, as data, so chapters can put them beside ours and check them.

Source: ``../shared/paper/ser-net-technical-report.md`` (T. Ponnam, "Technical Report: SER-Net for
Speech Emotion Recognition", June 2021). Every value is copied verbatim; nothing here is a result of ours.
"""

from __future__ import annotations

import pandas as pd

from sernet.labels import EMOTIONS

TABLE_2_1 = {  # §2.1 corpus statistics
    "total_utterances": 90103,
    "total_duration_h": 113.7,
    "speakers": "1,000+",
    "emotions": 8,
    "sample_rate_hz": 16000,
}

# §2.2: class -> (train, val, test)
TABLE_2_2: dict[str, tuple[int, int, int]] = {
    "angry": (8650, 1081, 1082),
    "happy": (10812, 1352, 1351),
    "sad": (7208, 901, 901),
    "neutral": (25236, 3154, 3155),
    "fear": (5765, 721, 720),
    "disgust": (3603, 450, 451),
    "surprise": (5765, 721, 720),
    "contempt": (5043, 630, 631),
}

SPLIT_TOTALS = {"train": 72082, "val": 9010, "test": 9011}  # §2.3

# §4.3 overall performance: model -> (UAR, WAR, macro-F1) in %
TABLE_4_3: dict[str, tuple[float, float, float]] = {
    "Baseline CNN": (65.2, 69.8, 63.1),
    "LSTM": (67.8, 71.2, 66.4),
    "CNN-LSTM": (69.4, 72.5, 68.1),
    "SER-Net": (72.4, 74.6, 71.8),
    "SER-Net Large": (73.1, 75.2, 72.5),
}

# §4.3 per-class (SER-Net Base): class -> (precision, recall, F1) in %
PER_CLASS: dict[str, tuple[float, float, float]] = {
    "angry": (74.2, 71.8, 72.9),
    "happy": (70.5, 73.2, 71.8),
    "sad": (69.8, 70.4, 70.1),
    "neutral": (82.1, 84.5, 83.3),
    "fear": (65.3, 67.1, 66.2),
    "disgust": (58.4, 62.8, 60.5),
    "surprise": (68.9, 69.5, 69.2),
    "contempt": (61.2, 60.1, 60.6),
}

# §4.4 ablations: configuration -> UAR %
TABLE_4_4: dict[str, float] = {
    "Full Model": 72.4,
    "w/o Multi-Scale Conv": 69.8,
    "w/o Attention Pooling": 70.1,
    "w/o Prosodic Features": 70.9,
    "w/o Data Augmentation": 69.2,
    "w/o Focal Loss": 70.5,
}

CONFUSIONS_5_2 = [("happy", "surprise"), ("sad", "contempt"), ("fear", "surprise")]

ERROR_CATEGORIES_5_3 = {  # % of errors
    "Ambiguous Utterances": 35,
    "Speaker Variability": 28,
    "Background Noise": 22,
    "Short Utterances": 15,
}

# §6.1 latency: (platform, batch) -> ms
TABLE_6_1: dict[tuple[str, int], float] = {
    ("GPU (RTX 3090)", 1): 8.2,
    ("GPU (RTX 3090)", 32): 45.1,
    ("CPU (Intel i9)", 1): 42.5,
    ("CPU (Intel i9)", 32): 312.8,
}

# §6.2 model size: variant -> (parameters, size MB)
TABLE_6_2: dict[str, tuple[float, float]] = {
    "SER-Net Base": (2.3e6, 9.2),
    "SER-Net Large": (8.7e6, 34.8),
}

APPENDIX_A = {
    "sample_rate": 16000,
    "n_mfcc": 40,
    "n_mels": 128,
    "hop_length": 512,
    "max_length": 300,
    "conv_filters": [64, 64, 64],
    "dilation_rates": [1, 2, 4],
    "residual_blocks": 3,
    "attention_heads": 4,
    "dense_units": 256,
    "dropout_rate": 0.3,
    "batch_size": 64,
    "epochs": 100,
    "learning_rate": 1e-3,
    "weight_decay": 1e-4,
    "warmup_steps": 1000,
    "focal_gamma": 2.0,
    "label_smoothing": 0.1,
}


def class_counts() -> pd.DataFrame:
    """Table 2.2 as a DataFrame indexed by emotion (paper order), columns train/val/test/total."""
    df = pd.DataFrame.from_dict(TABLE_2_2, orient="index", columns=["train", "val", "test"])
    df = df.loc[list(EMOTIONS)]
    df["total"] = df.sum(axis=1)
    df.index.name = "emotion"
    return df


def results_table() -> pd.DataFrame:
    """Table 4.3 as a DataFrame (model x UAR/WAR/macro-F1, %)."""
    return pd.DataFrame.from_dict(TABLE_4_3, orient="index", columns=["UAR", "WAR", "macro_F1"])


def per_class_table() -> pd.DataFrame:
    """The per-class table (emotion x precision/recall/F1, %)."""
    return pd.DataFrame.from_dict(PER_CLASS, orient="index", columns=["precision", "recall", "F1"]).loc[
        list(EMOTIONS)
    ]
