"""``sernet book``: build the book (chapters as committed, the paper, the API reference) as a static site."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("book", help="build the chapters, the paper and the API reference as a static website")
    p.add_argument("--out", type=Path, default=Path("book"), help="output folder (default: ./book); "
                   "open OUT/index.html from disk")
    p.add_argument("--paper", type=Path, default=None,
                   help="the paper's report (default: ../shared/paper/ser-net-technical-report.md beside the "
                        "checkout)")
    p.add_argument("--no-strict", dest="strict", action="store_false",
                   help="report warnings without failing (default: warnings are errors, as in the tests)")
    p.add_argument("-j", "--jobs", type=int, default=1, help="parallel Sphinx processes (default: 1)")
    p.set_defaults(func=run)


def run(args) -> int:
    from sernet.book import build_book

    index = build_book(args.out, paper=args.paper, strict=args.strict, jobs=args.jobs, quiet=args.quiet)
    print(f"the book is in {index.parent}: open {index}")
    return 0
