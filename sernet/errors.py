"""Exceptions raised by sernet. Each message names the file (or field) and the problem."""

from __future__ import annotations

from pathlib import Path


class SernetError(Exception):
    """Base class of every sernet error."""


class ConfigError(SernetError, ValueError):
    """A configuration value or override is invalid."""


class ManifestError(SernetError, ValueError):
    """A manifest is malformed: missing column, unknown label, missing audio, bad split."""


class AudioError(SernetError, ValueError):
    """An audio file cannot be used: unreadable, truncated, empty, silent, constant (DC only), too short,
    non-finite, wrong rate.

    Attributes
    ----------
    path : str
        The offending file ("<array>" for in-memory audio).
    problem : str
        A short machine-readable reason, e.g. ``"silent"``, ``"constant"``, ``"truncated"``, ``"too_short"``,
        ``"non_finite"``.
    """

    def __init__(self, path: str | Path, problem: str, detail: str = "") -> None:
        self.path = str(path)
        self.problem = problem
        self.detail = detail
        message = f"{self.path}: {problem}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)

    def __reduce__(self):  # picklable across multiprocessing workers
        return (type(self), (self.path, self.problem, self.detail))
