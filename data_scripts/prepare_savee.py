#!/usr/bin/env python
"""Prepare SAVEE (Surrey Audio-Visual Expressed Emotion) from your local copy: `python data_scripts/prepare_savee.py ROOT --out OUT`.

The same as `sernet prepare savee ROOT --out OUT` (options: --split, --labels, --seed, --json);
the preparer is `sernet.data.corpora.savee`. Layout, licence and label mapping: data_scripts/README.md.
"""

import sys

from sernet.cli import main

if __name__ == "__main__":
    sys.exit(main(["prepare", "savee", *sys.argv[1:]]))
