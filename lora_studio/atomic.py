"""Atomic file writes: a half-written file never replaces a good one.

A write goes to a hidden temporary (`.NAME.XXXX.tmp`) beside its target and is renamed over it only when
complete, so a crash (even `kill -9` or a full disk) leaves the previous file as it was. A killed process can
leave such temporaries behind; `clean_stale` removes them when the owner of the folder starts again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .text import Text


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it is fsynced and renamed over `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes 0600 and some writers (safetensors) recreate the file: give it the usual permissions last.
        os.chmod(tmp_path, 0o666 & ~_umask())
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text_atomic(target: str | os.PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def _usual_permissions(folder: Path) -> None:
    """mkdtemp makes 0700 and safetensors writes 0600: give the folder and its files what any new file gets."""
    mask = _umask()
    os.chmod(folder, 0o777 & ~mask)
    for path in folder.rglob("*"):
        if not path.is_symlink():
            os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)


def _old_copy(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it replaces `target` (old one removed last).

    Two renames swap the folders; a crash between them leaves the previous folder as `.NAME.old`, which
    the next `atomic_dir` or `clean_stale` on the same target puts back.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    restore_old_copy(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        _usual_permissions(tmp)
        old = None
        if target.exists():
            old = _old_copy(target)
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def restore_old_copy(target: str | os.PathLike) -> None:
    """Undo a crash between atomic_dir's two renames: the previous folder comes back as `target`."""
    target = Path(target)
    old = _old_copy(target)
    if old.is_dir() and not target.exists():
        os.replace(old, target)
    elif old.exists():
        shutil.rmtree(old, ignore_errors=True)


def clean_stale(folder: str | os.PathLike, names: Iterable[str]) -> list[Path]:
    """Remove the temporaries a killed writer left in `folder` for targets matching the glob `names`.

    Only call this for a folder whose writer is starting (nothing else writes those names right now).
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for name in names:
        for stale in folder.glob(f".{name}.*.tmp"):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
            removed.append(stale)
        for old in folder.glob(f".{name}.old"):
            restore_old_copy(old.with_name(old.name[1:-len(".old")]))
    return removed


_WRITE_ADVICE = {
    errno.ENOSPC: "io.advice_disk_full",
    errno.EDQUOT: "io.advice_quota",
    errno.EACCES: "io.advice_permission",
    errno.EPERM: "io.advice_permission",
    errno.EROFS: "io.advice_read_only",
    errno.ENOTDIR: "io.advice_not_folder",
    errno.EEXIST: "io.advice_not_folder",
}


def write_errors() -> tuple[type[Exception], ...]:
    """What a failed write raises: OSError, and also torch.save's RuntimeError ("PytorchStreamWriter failed
    writing file") and safetensors' SafetensorError ("IoError(Os { code: 28, ... })"), which carry no errno."""
    from safetensors import SafetensorError

    return OSError, RuntimeError, SafetensorError


_RUST_ERRNO = re.compile(r"(?:\bcode: |\bos error )(\d+)\b")  # how safetensors (Rust) spells an io::Error's errno


def write_failure(error: BaseException, what: str, path: str | os.PathLike | None = None) -> Text:
    """A sentence for a failed write: which file (`what`: an "io.what_*" text key), why, and what to do (for a
    UserError).

    `path` names the file when the error does not (a failed write() carries no file name)."""
    if isinstance(error, OSError):
        advice = _WRITE_ADVICE.get(error.errno)
        return Text("io.write_failed", what=Text(what), path=error.filename or path or "?",
                    advice=Text(advice) if advice else error.strerror or str(error))
    found = _RUST_ERRNO.search(str(error))
    code = int(found.group(1)) if found else None
    if code in _WRITE_ADVICE:
        return Text("io.write_failed", what=Text(what), path=path or "?", advice=Text(_WRITE_ADVICE[code]))
    detail = " ".join(str(error).split())[:200] or type(error).__name__
    return Text("io.write_failed_detail", what=Text(what), path=path or "?", detail=detail)
