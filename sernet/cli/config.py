"""``sernet config``: print the resolved configuration."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser("config", help="print the resolved configuration (profile + overrides)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from sernet import config
    from sernet.cli import load_config

    cfg = load_config(args)
    print(json.dumps(cfg.to_dict(), indent=2) if args.json else config.describe(cfg))
    return 0
