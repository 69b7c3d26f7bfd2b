"""Progress bars (tqdm) for every loop a user waits on.

Bars show when stderr is a terminal, or when ``SERNET_PROGRESS=1``; ``SERNET_PROGRESS=0``, ``--quiet``
and :func:`set_enabled(False) <set_enabled>` hide them. Notebooks (stderr not a terminal) stay quiet by
default, so committed chapter outputs never contain bars.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
_ENABLED: bool | None = None


def set_enabled(enabled: bool | None) -> None:
    """Force bars on/off for this process (None: back to the automatic rule)."""
    global _ENABLED
    _ENABLED = enabled


def enabled() -> bool:
    if _ENABLED is not None:
        return _ENABLED
    env = os.environ.get("SERNET_PROGRESS")
    if env is not None:
        return env not in ("0", "", "false", "no")
    return sys.stderr.isatty()


def bar(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
        unit: str = "it", **kwargs) -> Iterator[T] | tqdm:
    """A tqdm bar, disabled when progress is off."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled(), dynamic_ncols=True, **kwargs)
