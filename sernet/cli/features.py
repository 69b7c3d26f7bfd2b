"""``sernet features``: extract the feature cache of a corpus (all cores, resumable, shardable).

Examples::

    sernet features                                  # the configured corpus -> $SERNET_HOME/features/<key>
    sernet features --shard 3/16                     # one of 16 batch jobs sharing the same output folder
    sernet --set features.hop_ms=32 features         # the Appendix-A hop (another cache key)
    sernet features --manifest corpus/manifest.csv --out feats/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("features", help="extract the corpus feature cache (resumable, shardable)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", type=Path, help="manifest CSV or corpus folder (default: the configured corpus)")
    p.add_argument("--out", type=Path, help="cache folder (default: $SERNET_HOME/features/<key>)")
    p.add_argument("--shard", help="i/N: only this process's share of the chunks (0 <= i < N)")
    p.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    p.add_argument("--chunk-size", type=int, help="utterances per resumable chunk (new caches only)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sernet import workspace
    from sernet.cli import load_config
    from sernet.features import cache

    cfg = load_config(args)
    manifest = args.manifest or workspace.corpus_manifest(cfg, workers=args.workers)
    out = args.out or workspace.features_dir(cfg, manifest)
    shard = cache.parse_shard(args.shard) if args.shard else None
    summary = cache.extract_corpus(manifest, out, cfg, shard=shard, workers=args.workers,
                                   chunk_size=args.chunk_size)
    if args.json:
        print(json.dumps(summary))
        return 0
    if not summary["complete"]:
        print(f"{out}: {summary['n_chunks_done']}/{summary['n_chunks']} chunks done "
              f"({summary['seconds']:.1f} s); the other shards (or a run without --shard) finish the cache")
        return 0
    print(f"{out}: {summary['n_ok']} utterances extracted, {summary['n_failed']} failed, "
          f"{summary['n_repaired']} repaired ({summary['seconds']:.1f} s)")
    if summary["n_failed"] or summary["n_repaired"]:
        print(f"  see {Path(out) / 'failures.csv'}")
    return 0
