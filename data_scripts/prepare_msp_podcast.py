#!/usr/bin/env python
"""Prepare MSP-Podcast from your local copy: `python data_scripts/prepare_msp_podcast.py ROOT --out OUT`.

The same as `sernet prepare msp_podcast ROOT --out OUT` (options: --split, --labels, --seed, --json);
the preparer is `sernet.data.corpora.msp_podcast`. Layout, licence and label mapping: data_scripts/README.md.
"""

import sys

from sernet.cli import main

if __name__ == "__main__":
    sys.exit(main(["prepare", "msp_podcast", *sys.argv[1:]]))
