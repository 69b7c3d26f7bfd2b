"""``sernet bench <name>``: run a benchmark (``features``, ``train``, ``latency``).

Each benchmark lives in ``sernet.bench.<name>`` with ``add_arguments(parser)`` and ``run(args) -> int``;
only the modules that import are registered. ``--json`` prints one JSON object instead of a table.
"""

from __future__ import annotations

import argparse
import importlib


def add_parser(sub) -> None:
    from sernet.bench import BENCHMARKS

    p = sub.add_parser("bench", help="benchmarks: " + ", ".join(BENCHMARKS), description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    benches = p.add_subparsers(dest="bench", required=True, metavar="BENCHMARK")
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(f"sernet.bench.{name}")
        except ImportError:
            continue
        doc = (module.__doc__ or name).strip().splitlines()[0]
        q = benches.add_parser(name, help=doc, description=module.__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(q)
        if not any("--json" in a.option_strings for a in q._actions):
            q.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
        q.set_defaults(func=module.run)
