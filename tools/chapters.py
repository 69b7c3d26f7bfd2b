"""Refresh chapters: sync each ``chapters/NN_*.py`` (the source) into its ``.ipynb`` and execute it.

Usage::

    python tools/chapters.py            # every chapter
    python tools/chapters.py 01 03      # chapters whose name starts with 01 or 03
    python tools/chapters.py --no-execute 02   # only re-sync sources (outputs kept where cells match)

Execution uses the smoke profile, the current Python as kernel, and the same SERNET_HOME as the tests
(so cached corpora and features are reused), exactly as ``pytest --nbval chapters`` will replay them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"


def chapter_sources(prefixes: list[str]) -> list[Path]:
    files = sorted(p for p in CHAPTERS.glob("[0-9][0-9]_*.py"))
    if prefixes:
        files = [p for p in files if any(p.name.startswith(x) for x in prefixes)]
    return files


def strip_execution_metadata(nb: Path) -> None:
    """Drop per-cell execution timestamps: they change on every run and make noisy diffs."""
    import nbformat

    notebook = nbformat.read(nb, as_version=4)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, nb)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefixes", nargs="*")
    ap.add_argument("--no-execute", action="store_true")
    ap.add_argument("--strip-only", action="store_true", help="only drop execution timestamps")
    args = ap.parse_args()
    env = {**os.environ, "SERNET_PROFILE": "smoke", "PYTHONHASHSEED": "0"}
    env.pop("SERNET_DATA", None)
    for src in chapter_sources(args.prefixes):
        nb = src.with_suffix(".ipynb")
        if args.strip_only:
            strip_execution_metadata(nb)
            continue
        subprocess.run([sys.executable, "-m", "jupytext", "--set-kernel", "python3", "--to", "ipynb",
                        "--update" if nb.exists() else "--quiet", "-o", str(nb), str(src)],
                       check=True, env=env, cwd=ROOT)
        if args.no_execute:
            continue
        t0 = time.time()
        subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                        "--inplace", "--ExecutePreprocessor.timeout=1200",
                        "--ExecutePreprocessor.kernel_name=python3", str(nb)],
                       check=True, env=env, cwd=CHAPTERS)
        strip_execution_metadata(nb)
        print(f"{nb.name}: executed in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
