#!/usr/bin/env python
"""Prepare TESS (Toronto Emotional Speech Set) from your local copy: `python data_scripts/prepare_tess.py ROOT --out OUT`.

The same as `sernet prepare tess ROOT --out OUT` (options: --split, --labels, --seed, --json);
the preparer is `sernet.data.corpora.tess`. Layout, licence and label mapping: data_scripts/README.md.
"""

import sys

from sernet.cli import main

if __name__ == "__main__":
    sys.exit(main(["prepare", "tess", *sys.argv[1:]]))
