"""The report folder of ``sernet reproduce``: ``report.md`` with every table beside the paper's, and figures.

>>> rep = Report("SER-Net reproduction")        # doctest: +SKIP
>>> rep.table("Table 4.3", frame, note="...")    # doctest: +SKIP
>>> rep.figure("confusion", fig)                  # doctest: +SKIP
>>> rep.write("report/")                          # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sernet.analysis.metrics import markdown_table


@dataclass
class Report:
    """Sections in order: headings, text, tables (markdown) and figures (PNG files next to report.md)."""

    title: str
    blocks: list[str] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)

    def heading(self, text: str) -> None:
        self.blocks.append(f"## {text}")

    def text(self, text: str) -> None:
        self.blocks.append(text)

    def table(self, title: str, frame: pd.DataFrame, *, note: str = "", decimals: int = 1) -> None:
        """A titled markdown table; ``note`` (e.g. what the paper says) goes under it."""
        self.blocks.append(f"**{title}**\n\n{markdown_table(frame, decimals=decimals)}" + (f"\n\n{note}" if note
                                                                                            else ""))

    def figure(self, name: str, fig, *, caption: str = "") -> None:
        """A matplotlib figure saved as ``<name>.png`` and linked here."""
        self.figures[f"{name}.png"] = fig
        self.blocks.append(f"![{caption or name}]({name}.png)" + (f"\n\n*{caption}*" if caption else ""))

    def write(self, out_dir: str | Path) -> Path:
        """Write ``report.md`` and the figures into ``out_dir``; returns the report's path."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name, fig in self.figures.items():
            fig.savefig(out / name, dpi=110, bbox_inches="tight")
        path = out / "report.md"
        path.write_text(f"# {self.title}\n\n" + "\n\n".join(self.blocks) + "\n")
        return path
