"""Writing output files: atomically for regular files, directly for devices and pipes.

A reader never sees a half-written model, counts or output file: the data goes to a
temporary file beside the target, which is fsynced and renamed over it. What the target
is decides how it is written, as other Unix tools do:

- a regular file (or a new one): replaced atomically. A symbolic link is followed and its
  *target* replaced, so the link survives. An existing file keeps its permission bits
  (and its owner, where allowed); a new file gets the mode the umask gives, as any file a
  program creates (``0o666 & ~umask``).
- a character device, a FIFO (named pipe), or a descriptor alias such as ``/dev/stdout``
  or ``/dev/fd/3``: written directly, as a stream (it cannot be renamed over, and
  replacing it by a regular file would break it for everyone else).
- a directory, or a path whose directory is missing or not writable: an
  :class:`~ciyu.errors.OutputError` naming the path and the fix. :func:`check_output`
  raises it before any work starts.

Temporary files are named ``.NAME.PID.RANDOM.tmp``: the writer's process id is in the
name, so a later successful write of the same output removes the temporaries of writers
that died without cleaning up (``kill -9``), and never those of a live process.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import OutputError

#: Longest part of the target's name kept in a temporary's name (bytes), so that the
#: temporary's name stays under the usual 255-byte limit of a file name.
_NAME_BYTES = 200
_TMP_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
#: Errors of a write that can only come from the output (a full disk, a quota, a size
#: limit), worth naming the output in the message.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
#: Directories whose entries are aliases of open file descriptors.
_FD_DIRS = re.compile(r"/proc/(?:self|thread-self|\d+(?:/task/\d+)?)/fd|/dev/fd")


@dataclass(frozen=True)
class _Plan:
    """How an output is written: ``direct`` into ``target`` (a device, a pipe), or
    atomically by a temporary file in ``directory`` renamed to ``target``."""

    shown: str  # the path as given, for messages
    target: str
    direct: bool
    existing: os.stat_result | None

    @property
    def directory(self) -> str:
        """The directory of the target (symbolic links resolved)."""
        return os.path.dirname(self.target) or "."

    @property
    def shown_directory(self) -> str:
        """The target's directory for messages: as the user named it, unless a link
        leads elsewhere."""
        given = os.path.dirname(self.shown) or "."
        same = os.path.realpath(given) == os.path.realpath(self.directory)
        return given if same else self.directory


def _fail(shown: str, exc: OSError, directory: str | None = None) -> OutputError:
    """An :class:`OutputError` for ``exc`` met while writing ``shown``, with a fix."""
    where = directory if directory is not None else os.path.dirname(shown) or "."
    code = exc.errno
    if code == errno.ENOENT and os.path.isdir(where):
        return OutputError(f"{shown}: cannot write: cannot create files in {where}")
    if code == errno.ENOENT:
        return OutputError(
            f"{shown}: cannot write: the directory {where} does not exist; "
            "create it first, or choose another output path"
        )
    if code == errno.ENOTDIR:
        return OutputError(
            f"{shown}: cannot write: {_not_a_directory(where)} is not a directory; "
            "choose another output path"
        )
    if code == errno.EISDIR:
        return OutputError(f"{shown}: is a directory; give the output a file name")
    if code in (errno.EACCES, errno.EPERM):
        return OutputError(
            f"{shown}: cannot write: permission denied in {where}; "
            "choose a directory you can write to"
        )
    if code == errno.EROFS:
        return OutputError(
            f"{shown}: cannot write: {where} is on a read-only file system; "
            "choose another output path"
        )
    reason = exc.strerror or str(exc)
    return OutputError(f"{shown}: cannot write: {reason}")


def _not_a_directory(directory: str) -> str:
    """The first component of ``directory`` that exists and is not a directory."""
    path = Path(directory)
    for parent in [*reversed(path.parents), path]:
        if parent.exists() and not parent.is_dir():
            return str(parent)
    return directory


def _link_chain(path: str) -> Iterator[str]:
    """``path`` and every path its symbolic links lead to, in order (at most 40: the
    kernel's limit on links in a path)."""
    current = os.path.abspath(path)
    for _ in range(40):
        yield current
        try:
            link = os.readlink(current)
        except OSError:  # not a link (or gone): the end of the chain
            return
        current = os.path.join(os.path.dirname(current), link)


def _descriptor_alias(path: str) -> tuple[bool, int | None]:
    """Whether ``path`` is, or links through, ``/dev/fd/N`` or ``/proc/PID/fd/N`` (as
    ``/dev/stdout`` and a shell's ``>(...)`` do): an open descriptor, not a file to
    replace. The number ``N`` is returned too when the descriptor is this process's own."""
    for current in _link_chain(path):
        parent = os.path.realpath(os.path.dirname(current))
        if _FD_DIRS.fullmatch(parent):
            own = parent in (f"/proc/{os.getpid()}/fd", "/proc/self/fd", "/dev/fd")
            name = os.path.basename(current)
            return True, int(name) if own and name.isdigit() else None
    return False, None


def _plan(path: str | os.PathLike[str]) -> _Plan:
    """Decide how ``path`` is written.

    Raises:
        OutputError: if ``path`` is a directory or names one.
    """
    shown = os.fspath(path)
    if shown == "":
        raise OutputError("the output path is empty; give the output a file name")
    if shown.endswith(("/", os.sep)):
        raise OutputError(f"{shown}: names a directory; give the output a file name")
    try:
        st: os.stat_result | None = os.stat(shown)  # follows symbolic links
    except FileNotFoundError:
        st = None
    except OSError as exc:  # a component is not a directory, a loop of links, ...
        raise _fail(shown, exc) from None
    except ValueError:  # a NUL character: no file can have that name
        raise OutputError(f"{shown!r}: not a valid file name") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{shown}: is a directory; give the output a file name")
    if (st is not None and not stat.S_ISREG(st.st_mode)) or _descriptor_alias(shown)[0]:
        return _Plan(shown, shown, True, st)
    # a regular file or a new one: replace the file a chain of links ends at
    target = os.path.realpath(shown)
    return _Plan(shown, target, False, st)


def _temp_prefix(target: str) -> str:
    name = os.fsencode(os.path.basename(target))[:_NAME_BYTES]
    return "." + os.fsdecode(name) + "."


def _create_temp(plan: _Plan) -> tuple[int, str]:
    """Create the temporary file ``.NAME.PID.RANDOM.tmp`` beside the target.

    The mode requested is ``0o666``, so the process's umask decides the new file's mode
    exactly as for any file it creates.
    """
    prefix = _temp_prefix(plan.target)
    for _ in range(100):
        # os.urandom, which secrets draws from too: importing secrets cost the start of
        # `ciyu segment` the imports of hmac and random
        rand = "".join(_TMP_ALPHABET[b % len(_TMP_ALPHABET)] for b in os.urandom(8))
        tmp = os.path.join(plan.directory, f"{prefix}{os.getpid()}.{rand}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise _fail(plan.shown, exc, plan.shown_directory) from None
    raise OutputError(f"{plan.shown}: cannot write: no free temporary file name")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not a process id we wrote: leave the file alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # a live process of another user, or not a valid id
    return True


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[str]:
    """Remove the temporary files of ``path`` left by writers that died (``kill -9``).

    Only ``.NAME.PID.RANDOM.tmp`` files of this very output whose process ``PID`` no
    longer exists are removed; those of a running process are kept.

    Returns:
        The paths removed.
    """
    plan = _plan(path)
    if plan.direct:
        return []
    pattern = re.compile(re.escape(_temp_prefix(plan.target)) + r"(\d+)\.[a-z0-9]{8}\.tmp")
    removed = []
    try:
        names = os.listdir(plan.directory)
    except OSError:
        return []
    for name in names:
        m = pattern.fullmatch(name)
        if m is None or int(m.group(1)) == os.getpid() or _pid_alive(int(m.group(1))):
            continue
        stale = os.path.join(plan.directory, name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stale)
            removed.append(stale)
    return removed


def check_output(path: str | os.PathLike[str]) -> None:
    """Check, before any long work, that ``path`` can be written.

    A device or a pipe must be writable; otherwise a temporary file is created in the
    target's directory and removed again (which is the first step of the real write).

    Raises:
        OutputError: naming the path, why it cannot be written, and the fix.
    """
    plan = _plan(path)
    if plan.direct:
        if plan.existing is not None and not os.access(plan.target, os.W_OK):
            raise OutputError(
                f"{plan.shown}: cannot write: permission denied; check its permissions"
            )
        return
    fd, tmp = _create_temp(plan)
    os.close(fd)
    os.unlink(tmp)


def _keep_owner_and_mode(tmp: str, existing: os.stat_result | None) -> None:
    """Give the temporary file the permission bits (and owner) of the file it replaces."""
    if existing is None:
        return  # a new file: the umask already decided its mode
    if hasattr(os, "chown") and (existing.st_uid, existing.st_gid) != (
        os.stat(tmp).st_uid,
        os.stat(tmp).st_gid,
    ):
        with contextlib.suppress(OSError):  # not allowed to give the file away: keep ours
            os.chown(tmp, existing.st_uid, existing.st_gid)
    os.chmod(tmp, stat.S_IMODE(existing.st_mode))


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX); not possible (or needed) everywhere."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


#: Bytes a temporary file is written between two requests to the kernel to start writing
#: them to disk (see :class:`_WritingBack`).
WRITEBACK_STEP = 8 << 20


class _WritingBack(io.FileIO):
    """A temporary file whose data the kernel starts writing to disk as it comes, every
    :data:`WRITEBACK_STEP` bytes, rather than all at the final fsync.

    Left to itself, the kernel keeps a large output in memory until the fsync before the
    rename, which then waits for all of it: ``ciyu segment`` of 50 MB spent 30 ms there,
    with no other work to overlap. Asked as the data comes (``POSIX_FADV_DONTNEED`` starts
    the writeback of dirty pages without waiting for it), the disk works while the program
    does, and the pages written drop from the cache once on disk instead of filling it.
    """

    def __init__(self, fd: int) -> None:
        super().__init__(fd, "wb")
        self._written = 0
        self._requested = 0

    def write(self, data: Any) -> int:
        n = super().write(data)
        if n:
            self._written += n
            if self._written - self._requested >= WRITEBACK_STEP:
                # a hint: a kernel that refuses it changes nothing for the data
                with contextlib.suppress(OSError):
                    os.posix_fadvise(
                        self.fileno(),
                        self._requested,
                        self._written - self._requested,
                        os.POSIX_FADV_DONTNEED,
                    )
                self._requested = self._written
        return n


def _open(fd: int, mode: str, *, temporary: bool = False) -> IO[Any]:
    """``fd`` as a file object for ``mode``; a ``temporary`` file written in binary mode
    starts reaching the disk as it is written (:class:`_WritingBack`)."""
    if "b" in mode and temporary and hasattr(os, "posix_fadvise"):
        return io.BufferedWriter(_WritingBack(fd))
    if "b" in mode:
        return os.fdopen(fd, mode)
    return os.fdopen(fd, mode, encoding="utf-8", newline="\n")


def _close_quietly(fh: IO[Any]) -> None:
    """Close ``fh`` after a failure; the descriptor is closed even if flushing fails."""
    with contextlib.suppress(OSError, ValueError):
        fh.close()


def _write_error(plan: _Plan, exc: OSError) -> BaseException:
    """What a failed write of the output becomes: an :class:`OutputError` when the
    output's device refused the data, else ``exc`` itself (from the caller's code)."""
    if exc.errno in _WRITE_ERRNOS and exc.filename is None:
        return _fail(plan.shown, exc, plan.shown_directory)
    return exc


@contextlib.contextmanager
def _closing_on_error(fh: IO[Any], plan: _Plan) -> Iterator[None]:
    """Close ``fh`` if the caller's writing fails; a write the output's device refused
    becomes an :class:`OutputError`."""
    try:
        yield
    except OSError as exc:
        _close_quietly(fh)
        error = _write_error(plan, exc)
        if error is exc:
            raise
        raise error from None
    except BaseException:
        _close_quietly(fh)
        raise


def _open_direct(target: str) -> int:
    """A descriptor writing into ``target``: a duplicate of this process's own descriptor
    for ``/dev/stdout`` or ``/dev/fd/N`` (so that ``>> log`` keeps appending, as the
    shell set it up), else ``target`` opened for writing."""
    _, own = _descriptor_alias(target)
    if own is not None:
        return os.dup(own)
    return os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)


@contextlib.contextmanager
def _write_direct(plan: _Plan, mode: str) -> Iterator[IO[Any]]:
    try:
        fh = _open(_open_direct(plan.target), mode)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.EBADF):  # /dev/fd/N of a closed descriptor
            raise OutputError(f"{plan.shown}: cannot write: no such file or descriptor") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise OutputError(
                f"{plan.shown}: cannot write: permission denied; check its permissions"
            ) from None
        raise _fail(plan.shown, exc) from None
    with _closing_on_error(fh, plan):
        yield fh
    try:
        fh.close()
    except BrokenPipeError:  # the reader of a pipe went away: the caller decides
        raise
    except OSError as exc:
        raise _fail(plan.shown, exc) from None


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open ``path`` for writing; on success the complete data is in place at once.

    A regular (or new) file is written to a temporary file beside it, fsynced and renamed
    over it; on any exception the temporary file is removed and ``path`` is left
    untouched. A device or a pipe is written directly (see the module documentation).
    ``mode`` is ``"w"`` (UTF-8 text, ``\\n`` newlines) or ``"wb"``.

    Raises:
        OutputError: if ``path`` cannot be written (missing, read-only or full
            directory, a directory), naming it and the fix.
    """
    plan = _plan(path)
    if plan.direct:
        with _write_direct(plan, mode) as fh:
            yield fh
        return
    fd, tmp = _create_temp(plan)
    try:
        fh = _open(fd, mode, temporary=True)
        with _closing_on_error(fh, plan):
            yield fh
        try:
            fh.flush()
            _keep_owner_and_mode(tmp, plan.existing)
            os.fsync(fh.fileno())
            fh.close()
        except OSError as exc:
            _close_quietly(fh)
            raise _fail(plan.shown, exc, plan.shown_directory) from None
        try:
            os.replace(tmp, plan.target)
        except OSError as exc:
            raise _fail(plan.shown, exc, plan.shown_directory) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(plan.directory)
    remove_stale_temporaries(plan.target)
