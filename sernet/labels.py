"""The paper's eight emotion classes, in the paper's class-index order (Table 2.2)."""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = (
    "angry",
    "happy",
    "sad",
    "neutral",
    "fear",
    "disgust",
    "surprise",
    "contempt",
)
"""Class index ``i`` is ``EMOTIONS[i]``; every model output and table uses this order."""

NUM_CLASSES: int = len(EMOTIONS)


def class_index(label: str, classes: tuple[str, ...] = EMOTIONS) -> int:
    """Return the index of ``label`` in ``classes``.

    Raises
    ------
    ValueError
        If ``label`` is not one of ``classes`` (the message lists the known labels).
    """
    try:
        return classes.index(label)
    except ValueError:
        raise ValueError(f"unknown emotion label {label!r}; expected one of {', '.join(classes)}") from None


# ------------------------------------------------------------------------------------------ label sets
CLASSES_FILE = "classes.txt"
"""The file beside a prepared corpus's ``manifest.csv`` naming its classes, one per line, in index order."""


def read_classes_file(folder) -> tuple[str, ...] | None:
    """The classes listed in ``folder/classes.txt`` (``folder`` may also be a file inside it, e.g. the
    manifest); None when there is no such file.

    Raises
    ------
    ValueError
        If the file is empty or lists a class twice.
    """
    from pathlib import Path

    folder = Path(folder)
    path = (folder if folder.is_dir() else folder.parent) / CLASSES_FILE
    if not path.is_file():
        return None
    classes = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
    if not classes:
        raise ValueError(f"{path}: empty class list")
    if len(set(classes)) != len(classes):
        raise ValueError(f"{path}: a class is listed twice ({list(classes)})")
    return classes


def corpus_classes(manifest) -> tuple[str, ...]:
    """The label set of the corpus of ``manifest`` (a manifest file or its folder): its ``classes.txt``,
    else the paper's 8 (:data:`EMOTIONS`: the synthetic corpus, MSP-Podcast, older prepared corpora)."""
    return read_classes_file(manifest) or EMOTIONS


def classes_of(obj) -> tuple[str, ...]:
    """The label set of a feature store (or anything with ``classes`` or ``info["classes"]``).

    Falls back to :data:`EMOTIONS` for objects that declare none (e.g. test doubles of a store).
    """
    classes = getattr(obj, "classes", None)
    if classes is None:
        info = getattr(obj, "info", None)
        classes = info.get("classes") if isinstance(info, dict) else None
    return EMOTIONS if classes is None else tuple(str(c) for c in classes)


def shared_classes(first, second) -> tuple[str, ...]:
    """The classes of ``first`` that ``second`` also has, in ``first``'s order.

    Examples
    --------
    >>> shared_classes(("neutral", "angry", "sad", "happy"), EMOTIONS)
    ('neutral', 'angry', 'sad', 'happy')
    >>> shared_classes(EMOTIONS, ("angry", "boredom", "sad"))
    ('angry', 'sad')
    """
    other = set(second)
    return tuple(c for c in first if c in other)
