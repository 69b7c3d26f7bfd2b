"""Importing Keras through sernet writes nothing to stderr (nbval compares stderr)."""

from __future__ import annotations

import subprocess
import sys


def test_quiet_keras_import_writes_no_stderr():
    code = "from sernet.backend import keras; k = keras(); import keras.ops as o; print(o.sum(o.ones(3)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "3" in proc.stdout


def test_import_sernet_does_not_import_tensorflow():
    code = "import sys, sernet, sernet.data, sernet.workspace; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
