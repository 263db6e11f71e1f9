"""Progress bars (tqdm): on when asked, or by default when stderr is a terminal."""

from __future__ import annotations

import sys

__all__ = ["progress_enabled", "progress_bar"]


def progress_enabled(progress: bool | None) -> bool:
    """`progress=None` means: show a bar when stderr is a TTY."""
    if progress is None:
        stream = sys.stderr
        return bool(getattr(stream, "isatty", lambda: False)())
    return bool(progress)


def progress_bar(iterable=None, *, total=None, desc=None, progress: bool | None = None):
    """A tqdm bar, or a silent one when progress is off."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, disable=not progress_enabled(progress), leave=False)
