"""nof1's own, bounded compile directory for PyTensor (and its numba cache).

PyTensor caches compiled code across processes under ``~/.pytensor`` by default, shared with
every other PyMC project of the user and never pruned. A large shared cache was measured to cost
5–15 s to load at start and up to 13 s at interpreter exit (``docs/methods-models.md``). nof1
therefore points PyTensor at a directory of its own — ``$XDG_CACHE_HOME/nof1/pytensor``
(``~/.cache/nof1/pytensor``), owner-only — and keeps it under :data:`MAX_BYTES` by removing the
least recently written files (at most once a day). ``NOF1_COMPILE_DIR`` chooses another
directory; a ``base_compiledir`` already set in ``PYTENSOR_FLAGS`` is respected.

:func:`configure` must run before PyTensor is imported; ``nof1.model`` calls it on import.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

#: Bound on the compile directory's size.
MAX_BYTES = 300 * 1024 * 1024
#: When over the bound, files are removed (oldest first) until the directory is under this.
TARGET_BYTES = 200 * 1024 * 1024
#: How often the size is checked.
CHECK_SECONDS = 24 * 3600
_STAMP = ".nof1-size-checked"


def default_dir() -> Path:
    """``NOF1_COMPILE_DIR``, else ``$XDG_CACHE_HOME/nof1/pytensor`` (``~/.cache/...``)."""
    chosen = os.environ.get("NOF1_COMPILE_DIR")
    if chosen:
        return Path(chosen).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "nof1" / "pytensor"


def configure() -> Path | None:
    """Point PyTensor at nof1's compile directory; the directory used (``None``: not changed).

    Does nothing once PyTensor is imported (its directory is then fixed) or when the user set
    ``base_compiledir`` in ``PYTENSOR_FLAGS``.
    """
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    if "pytensor" in sys.modules or "base_compiledir" in flags:
        return None
    root = default_dir()
    if "," in str(root) or "=" in str(root):
        return None  # PYTENSOR_FLAGS cannot carry this path: keep PyTensor's default
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        root.chmod(0o700)
        (root / "src").mkdir(exist_ok=True, mode=0o700)
        prune(root)
    except OSError:
        return None  # an unwritable cache must not stop the analysis
    extra = f"base_compiledir={root},generated_src_dir={root / 'src'}"
    os.environ["PYTENSOR_FLAGS"] = f"{flags},{extra}" if flags else extra
    return root


def prune(root: Path, *, max_bytes: int = MAX_BYTES, target_bytes: int = TARGET_BYTES) -> int:
    """Remove the oldest files while ``root`` holds more than ``max_bytes``; bytes removed.

    Checked at most once per :data:`CHECK_SECONDS` (a stamp file records the last check).
    """
    stamp = root / _STAMP
    now = time.time()
    try:
        if now - stamp.stat().st_mtime < CHECK_SECONDS:
            return 0
    except FileNotFoundError:
        pass
    files = []
    total = 0
    for path in root.rglob("*"):
        try:
            info = path.lstat()
        except OSError:
            continue
        if path.is_file() and path.name != _STAMP:
            files.append((info.st_mtime, info.st_size, path))
            total += info.st_size
    removed = 0
    if total > max_bytes:
        for _mtime, size, path in sorted(files):
            if total - removed <= target_bytes:
                break
            try:
                path.unlink()
                removed += size
            except OSError:
                continue
    stamp.touch(mode=0o600)
    return removed
