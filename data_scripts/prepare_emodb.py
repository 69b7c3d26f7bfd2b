#!/usr/bin/env python
"""Prepare EmoDB (Berlin Database of Emotional Speech) from your local copy: `python data_scripts/prepare_emodb.py ROOT --out OUT`.

The same as `sernet prepare emodb ROOT --out OUT` (options: --split, --labels, --seed, --json);
the preparer is `sernet.data.corpora.emodb`. Layout, licence and label mapping: data_scripts/README.md.
"""

import sys

from sernet.cli import main

if __name__ == "__main__":
    sys.exit(main(["prepare", "emodb", *sys.argv[1:]]))
