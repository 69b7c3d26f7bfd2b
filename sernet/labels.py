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
