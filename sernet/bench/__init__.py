"""Benchmarks: ``sernet bench features|train|latency|serve``.

Each benchmark is a module ``sernet.bench.<name>`` exposing ``add_arguments(parser)`` (its options; ``--json``
is added for it) and ``run(args) -> int``. It prints a human table, or one JSON object with ``--json``, and
never asserts a timing. ``sernet.cli.bench`` registers every module of :data:`BENCHMARKS` that imports.
"""

from __future__ import annotations

BENCHMARKS: tuple[str, ...] = ("features", "train", "latency", "serve")


def format_table(rows: list[dict], columns: list[str]) -> str:
    """A plain fixed-width text table of ``rows`` (dicts) over ``columns``."""
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)
