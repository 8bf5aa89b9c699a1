"""Writing files safely: owner-only, atomic, never onto the trial's own files.

Every file nof1 writes (reports, exports, calendars, allocation lists, backups, a new
``protocol.toml``) goes through :func:`write_private` (or :func:`private_temp` + :func:`publish`
when another library writes the bytes, as SQLite's backup API does):

* **Owner-only.** The data is written to a temporary file created by :func:`tempfile.mkstemp`
  (mode ``0600`` whatever the umask) in the destination's folder; folders nof1 creates are
  ``0700`` (:func:`make_private_dir`).
* **Atomic.** The temporary file is flushed and ``fsync``-ed, then moved into place in one step
  (a hard link that fails when the name exists, or :func:`os.replace` with ``force``), and the
  folder is ``fsync``-ed. A crash, a full disk or a killed process leaves either the old file or
  the new one, never half of one; the temporary file is removed on failure.
* **No overwrite without force.** An existing destination is refused unless ``force``; the check
  and the write are one atomic step, so a file appearing in between is not clobbered.
* **Protected files.** ``protected`` names files that are never written, with or without force
  (the workspace passes ``protocol.toml``, ``nof1.sqlite`` and its ``-wal``/``-shm``/``-journal``).
  The destination is compared after resolving ``..`` and symbolic links of its folder, and by
  device and inode when it exists (hard links, case-insensitive file systems).
* **No symbolic links.** A symbolic link at the destination is refused, even with force: writing
  through it would land somewhere the person did not name.

Operating-system failures (disk full, read-only media, permission denied) become one
:class:`~nof1.errors.OutputError` naming the file and the fix. Stdlib only.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from nof1.errors import OutputError

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700

#: What an operating-system error means to the person, and what to do about it.
_OS_ERRORS = {
    errno.ENOSPC: "the disk is full: free some space and run the command again",
    errno.EDQUOT: "the disk quota is exhausted: free some space and run the command again",
    errno.EFBIG: "the file is larger than this system allows (file size limit or disk full)",
    errno.EROFS: "the folder is on read-only media: write to another folder",
    errno.EACCES: "permission denied: write to a folder you own",
    errno.EPERM: "permission denied: write to a folder you own",
    errno.ENOENT: "the folder does not exist: create it first",
    errno.ENOTDIR: "part of the path is not a folder",
    errno.EISDIR: "it is a folder: give a file name",
    errno.ENAMETOOLONG: "the file name is too long",
}


def explain(exc: OSError) -> str:
    """A plain-language reason for an operating-system error, with the fix when there is one."""
    return _OS_ERRORS.get(exc.errno or 0, exc.strerror or str(exc))


def _place(path: Path) -> Path:
    """``path`` with its folder resolved (``..`` and symbolic links) but the last part kept.

    The last part is not followed: a symbolic link there is refused by :func:`check_destination`.
    """
    return path.absolute().parent.resolve() / path.name


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_destination(
    path: str | Path, *, force: bool = False, protected: Iterable[str | Path] = ()
) -> Path:
    """Check that ``path`` may be written; return it with its folder resolved.

    Raises
    ------
    OutputError
        When ``path`` is one of ``protected`` (after resolving ``..`` and symbolic links), is a
        symbolic link, is a folder, exists and ``force`` is false, or its folder is missing.
    """
    given = Path(path)
    if not given.name or given.name in (".", ".."):
        raise OutputError(f"{given} is not a file name: give a file to write, e.g. diary.csv")
    place = _place(given)
    for item in protected:
        guarded = Path(item)
        if place == _place(guarded) or (place.exists() and _same_file(place, guarded)):
            raise OutputError(
                f"refusing to write {given}: it is the trial's own {guarded.name}, which would be "
                "destroyed; choose another file name"
            )
    try:
        info = place.lstat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputError(f"cannot write {given}: {explain(exc)}") from None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise OutputError(
                f"refusing to write {given}: it is a symbolic link (to {os.readlink(place)}), and "
                "nof1 does not write through links; give the real file name"
            )
        if stat.S_ISDIR(info.st_mode):
            raise OutputError(f"cannot write {given}: it is a folder; give a file name")
        if not force:
            raise OutputError(
                f"{given} already exists: choose a new file name, or add --force to replace it"
            )
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(f"refusing to replace {given}: it is not a regular file")
    if not place.parent.is_dir():
        raise OutputError(f"cannot write {given}: folder {place.parent} does not exist; create it")
    return place


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte to ``fd`` (the boundary where a full disk shows up)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def private_temp(dest: Path) -> Iterator[Path]:
    """A new, empty owner-only file in ``dest``'s folder, removed unless :func:`publish`-ed.

    For writers that need a path rather than bytes (SQLite's backup API).
    """
    import tempfile  # here, not at the top: the daily `nof1 log` never writes a file

    try:
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {dest}: {explain(exc)}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def publish(tmp: Path, dest: Path, *, force: bool = False) -> None:
    """Move the finished temporary file ``tmp`` to ``dest`` in one atomic step, durably.

    Without ``force`` the move fails when ``dest`` exists (a hard link cannot replace a name),
    so a file created since :func:`check_destination` is never clobbered.
    """
    try:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, PRIVATE_FILE_MODE)
        if force:
            os.replace(tmp, dest)
        else:
            try:
                os.link(tmp, dest)
            except FileExistsError:
                raise OutputError(
                    f"{dest} already exists: choose a new file name, or add --force to replace it"
                ) from None
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                    raise
                # File systems without hard links (FAT, some network shares): closest safe step.
                if os.path.lexists(dest):
                    raise OutputError(
                        f"{dest} already exists: choose a new file name, or add --force to "
                        "replace it"
                    ) from None
                os.replace(tmp, dest)
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {dest}: {explain(exc)}; nothing was written") from None
    _fsync_dir(dest.parent)


def write_private(
    path: str | Path,
    data: bytes | str,
    *,
    force: bool = False,
    protected: Iterable[str | Path] = (),
) -> Path:
    """Write ``data`` (text is UTF-8 encoded) to a new owner-only file, atomically.

    Parameters
    ----------
    path : path
        The file to write. Its folder must exist.
    data : bytes or str
        The whole content.
    force : bool
        Replace an existing regular file (never a symbolic link or a protected file).
    protected : paths
        Files that must never be written (the workspace's own files).

    Returns
    -------
    Path
        The path as given.

    Raises
    ------
    OutputError
        See :func:`check_destination`; and when the operating system refuses the write (disk
        full, read-only media, permission): nothing is left behind and an existing file is kept.
    """
    given = Path(path)
    dest = check_destination(given, force=force, protected=protected)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    with private_temp(dest) as tmp:
        try:
            fd = os.open(tmp, os.O_WRONLY | getattr(os, "O_BINARY", 0))
            try:
                _write_all(fd, payload)
            finally:
                os.close(fd)
        except OSError as exc:
            raise OutputError(
                f"cannot write {given}: {explain(exc)}; nothing was written"
            ) from None
        publish(tmp, dest, force=force)
    return given


def make_private_dir(path: str | Path) -> Path:
    """Create folder ``path`` and any missing parents with mode ``0700``; return it.

    Folders that already exist are left as they are (they are the person's, not nof1's).
    """
    folder = Path(path)
    missing: list[Path] = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    try:
        for item in reversed(missing):
            try:
                item.mkdir(mode=PRIVATE_DIR_MODE)
            except FileExistsError:
                continue
            os.chmod(item, PRIVATE_DIR_MODE)  # mkdir's mode is masked by the umask
    except OSError as exc:
        raise OutputError(f"cannot create folder {folder}: {explain(exc)}") from None
    if not folder.is_dir():
        raise OutputError(f"cannot create folder {folder}: a file of that name exists")
    return folder


def create_private_file(path: str | Path) -> bool:
    """Create an empty owner-only file at ``path``; ``False`` when it already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    os.chmod(path, PRIVATE_FILE_MODE)  # an unusual umask (e.g. 0o277) could narrow it further
    return True
