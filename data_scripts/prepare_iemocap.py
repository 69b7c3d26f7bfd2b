#!/usr/bin/env python
"""Prepare IEMOCAP (speech, 4-class: neutral/angry/sad/happy+excited) from your local copy: `python data_scripts/prepare_iemocap.py ROOT --out OUT`.

The same as `sernet prepare iemocap ROOT --out OUT` (options: --split, --labels, --seed, --fold, --json);
the preparer is `sernet.data.corpora.iemocap`. Layout, licence and label mapping: data_scripts/README.md.
"""

import sys

from sernet.cli import main

if __name__ == "__main__":
    sys.exit(main(["prepare", "iemocap", *sys.argv[1:]]))
