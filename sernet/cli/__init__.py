"""``sernet`` command line: thin verbs over the package's stages.

Each verb lives in its own module ``sernet.cli.<verb>`` defining ``add_parser(subparsers)`` which
registers an ``argparse`` sub-parser whose ``func(args) -> int`` does the work.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sernet.errors import SernetError

COMMANDS: tuple[str, ...] = ("config", "synth", "features", "train", "evaluate", "reproduce", "prepare",
                             "predict", "export", "bench", "study", "serve", "pretrain", "distill",
                             "book")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sernet", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", help="config profile (default: $SERNET_PROFILE or smoke)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config field, e.g. --set train.epochs=3 (repeatable)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"sernet.cli.{name}").add_parser(sub)
    return parser


def load_config(args: argparse.Namespace):
    """The config named by ``--profile`` with every ``--set KEY=VALUE`` applied."""
    from sernet import config

    cfg = config.load(args.profile)
    changes = {}
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise SernetError(f"--set {item!r}: expected KEY=VALUE")
        changes[key.strip()] = value.strip()
    return config.override(cfg, changes)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quiet:
        from sernet import progress

        progress.set_enabled(False)
    try:
        return int(args.func(args) or 0)
    except SernetError as exc:
        print(f"sernet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sernet {args.command}: interrupted; finished work is kept, re-run to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
