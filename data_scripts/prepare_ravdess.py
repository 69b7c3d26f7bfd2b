#!/usr/bin/env python
"""Prepare RAVDESS (speech, audio-only) from your local copy: `python data_scripts/prepare_ravdess.py ROOT --out OUT`.

The same as `sernet prepare ravdess ROOT --out OUT` (options: --split, --labels, --seed, --json);
the preparer is `sernet.data.corpora.ravdess`. Layout, licence and label mapping: data_scripts/README.md.
"""

import sys

from sernet.cli import main

if __name__ == "__main__":
    sys.exit(main(["prepare", "ravdess", *sys.argv[1:]]))
