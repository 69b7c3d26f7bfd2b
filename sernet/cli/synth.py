"""``sernet synth``: generate the synthetic emotional-speech corpus (WAVs + manifest.csv).

Examples::

    sernet synth --out /tmp/corpus --n 50          # 50 utterances, smoke-profile voice settings
    sernet --profile full synth --workers 16        # paper size (90,103 utterances) into $SERNET_HOME
    sernet synth --set synth.cue_spread=1.5         # a harder corpus (more class overlap)

Re-running after an interrupt resumes (finished chunks are kept); a finished corpus returns at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("synth", help="generate the synthetic emotional-speech corpus",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: the cached corpus under $SERNET_HOME/corpora)")
    p.add_argument("--n", type=int, default=None, help="number of utterances (default: synth.n_utterances)")
    p.add_argument("--speakers", type=int, default=None, help="number of speakers (default: synth.n_speakers)")
    p.add_argument("--seed", type=int, default=None, help="corpus seed (default: synth.seed)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all CPUs, max 8)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sernet import config, workspace
    from sernet.analysis import dataset
    from sernet.cli import load_config
    from sernet.data import synthetic
    from sernet.data.manifest import read_manifest

    cfg = load_config(args)
    changes = {f"synth.{k}": v for k, v in
               (("n_utterances", args.n), ("n_speakers", args.speakers), ("seed", args.seed)) if v is not None}
    cfg = config.override(cfg, changes)
    out = args.out if args.out is not None else workspace.synthetic_corpus_dir(cfg)
    manifest = synthetic.generate_corpus(out, cfg, workers=args.workers)
    df = read_manifest(manifest)
    print(f"manifest: {manifest}")
    print(f"{len(df)} utterances, {df['speaker'].nunique()} speakers, "
          f"{df['duration_s'].sum() / 3600:.3f} h (generator version {synthetic.GENERATOR_VERSION})")
    print(dataset.with_totals(dataset.corpus_table(df)).to_string())
    return 0
