#!/usr/bin/env python
"""Prepare CREMA-D from your local copy: `python data_scripts/prepare_crema_d.py ROOT --out OUT`.

The same as `sernet prepare crema_d ROOT --out OUT` (options: --split, --labels, --seed, --json);
the preparer is `sernet.data.corpora.crema_d`. Layout, licence and label mapping: data_scripts/README.md.
"""

import sys

from sernet.cli import main

if __name__ == "__main__":
    sys.exit(main(["prepare", "crema_d", *sys.argv[1:]]))
