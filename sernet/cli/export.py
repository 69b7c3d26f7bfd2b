"""``sernet export``: PLACEHOLDER until its issue lands (the owner replaces this whole file)."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="(not built yet)")
    p.set_defaults(func=lambda args: print("sernet export: not built yet") or 1)
