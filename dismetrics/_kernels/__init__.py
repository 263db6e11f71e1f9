"""Numba kernels (import nothing of ours): one module per family of estimators.

Where the compiled kernels are cached
-------------------------------------
The kernels are compiled with `cache=True`. By default numba writes that cache into a
`__pycache__` folder next to the source whenever it can, i.e. into the installed package: a shared or
system-wide site-packages then gets files written by whichever user ran a metric first, and a
read-only one leaves numba looking for another place. This module, imported before any kernel is
defined, sends the cache of *these* kernels (and of no other numba code in the process) to a
per-user folder instead, the first of these that can be written:

1. `$NUMBA_CACHE_DIR` when it is set: numba's own setting wins, as for any numba code;
2. `$DISMETRICS_NUMBA_CACHE`;
3. the user cache folder: `$XDG_CACHE_HOME/dismetrics/numba` (`~/.cache/dismetrics/numba`;
   `%LOCALAPPDATA%\\dismetrics\\numba` on Windows, `~/Library/Caches/dismetrics/numba` on macOS);
4. `<tempdir>/dismetrics-numba-<user>`.

Each installation caches under its own sub-folder (numba names it after the source folder), so two
environments never share compiled code. Should none of these be writable, numba's own order applies.
"""

from __future__ import annotations

import getpass
import os
import sys
import tempfile
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))


def cache_dirs() -> list[str]:
    """Candidate folders for the compiled-kernel cache, in order of preference (`$NUMBA_CACHE_DIR`,
    handled by numba itself, comes before all of them)."""
    dirs = []
    if os.environ.get("DISMETRICS_NUMBA_CACHE"):
        dirs.append(os.environ["DISMETRICS_NUMBA_CACHE"])
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser(os.path.join("~", "AppData", "Local"))
    elif sys.platform == "darwin":
        base = os.path.expanduser(os.path.join("~", "Library", "Caches"))
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser(os.path.join("~", ".cache"))
    if base and os.path.isabs(base):
        dirs.append(os.path.join(base, "dismetrics", "numba"))
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name (some containers): the uid will do
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    dirs.append(os.path.join(tempfile.gettempdir(), f"dismetrics-numba-{user}"))
    return dirs


def _install_cache_locator() -> None:
    """Put a locator for this folder's kernels in front of numba's in-tree `__pycache__` one.

    numba picks the first of `CacheImpl._locator_classes` whose `from_function` accepts the
    function; ours accepts only functions defined in this folder, so other numba code is unaffected.
    The names differ across numba releases (`_InTreeCacheLocator` in older ones such as 0.58,
    `InTreeCacheLocator` in newer ones), hence the lookups with and without the underscore.
    """
    try:
        from numba.core import caching
    except ImportError:  # pragma: no cover - numba is a dependency
        return
    in_tree = getattr(caching, "InTreeCacheLocator", None) or getattr(caching, "_InTreeCacheLocator", None)
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    locators = getattr(impl, "_locator_classes", None)
    if in_tree is None or not isinstance(locators, list):  # pragma: no cover - numba internals moved
        # The documented fallback: numba's global setting, which also moves other packages' caches,
        # and only where the user has not chosen a folder.
        from numba.core import config

        if not getattr(config, "CACHE_DIR", ""):
            setattr(config, "CACHE_DIR", cache_dirs()[0])  # noqa: B010 - set at run time by numba's config
        return
    if any(getattr(cls, "_dismetrics", False) for cls in locators):
        return

    class _DismetricsCacheLocator(in_tree):  # type: ignore[misc, valid-type]
        """numba's in-tree locator, with the cache path moved out of the package."""

        _dismetrics = True

        def __init__(self, py_func: Any, py_file: str, root: str | None = None) -> None:
            super().__init__(py_func, py_file)
            self._cache_path = os.path.join(root or cache_dirs()[0], self.get_suitable_cache_subpath(py_file))

        @classmethod
        def from_function(cls, py_func: Any, py_file: str) -> Any:
            if os.path.dirname(os.path.abspath(py_file)) != _HERE or not os.path.exists(py_file):
                return None
            for root in cache_dirs():
                locator = cls(py_func, py_file, root)
                try:
                    locator.ensure_cache_path()
                except OSError:
                    continue
                return locator
            return None

    # Right before numba's in-tree locator: after its NUMBA_CACHE_DIR one, so the user's setting wins.
    locators.insert(locators.index(in_tree) if in_tree in locators else len(locators), _DismetricsCacheLocator)


_install_cache_locator()
