"""``sernet bench``: PLACEHOLDER until its issue lands (the owner replaces this whole file)."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="(not built yet)")
    p.set_defaults(func=lambda args: print("sernet bench: not built yet") or 1)
