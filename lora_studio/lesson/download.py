"""Fetch the tutorial's cats_and_dogs_filtered.zip: progress bar, resumable, size- and CRC-checked, unzipped atomically.

A broken connection leaves `<archive>.part`; the next run asks the server for the rest (HTTP Range) instead of
starting over. The archive's size is checked against the server's Content-Length and the known size, and
every member's CRC-32 is checked before anything is unpacked.
"""

from __future__ import annotations

import http.client
import logging
import os
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from ..atomic import atomic_dir
from ..errors import DatasetError
from ..text import Text

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int | None], None]
CHUNK = 1 << 16


def _offline_help(url: str, archive: Path, folder: Path) -> Text:
    return Text("lesson_data.offline_help", url=url, archive=archive, folder=folder)


def _tqdm_progress(desc: str) -> tuple[ProgressFn, Callable[[], None]]:
    from tqdm.auto import tqdm

    bar = tqdm(desc=desc, unit="B", unit_scale=True, unit_divisor=1024)

    def update(done: int, total: int | None) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    return update, bar.close


def local_archive(url: str) -> Path | None:
    """The archive on this computer that `url` names (a plain path, as given on the command line), or None for
    an https:// address. Every other scheme (file://, http://, ftp://...) is refused: only https is downloaded."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme == "https":
        return None
    if not scheme or (len(scheme) == 1 and os.name == "nt"):  # C:\... on Windows is a path, not a scheme
        return Path(url).expanduser()
    raise DatasetError("lesson_data.url_not_https", url=url)


def download_file(url: str, dest: Path, expected_size: int | None = None, *, on_progress: ProgressFn | None = None,
                  timeout: float = 30.0, unpack_into: Path | None = None) -> Path:
    """Download `url` to `dest` through `dest.part`, resuming a partial file; returns `dest`.

    `on_progress(done_bytes, total_bytes)` replaces the default tqdm bar (the studio draws its own).
    `unpack_into` is the dataset folder the archive is for, named in the message when the download fails
    (default: `dest` without its suffix, where unzipping the archive beside it would put it).
    """
    if local_archive(url) is not None:
        raise DatasetError("lesson_data.download_not_https", url=url)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    done = part.stat().st_size if part.exists() else 0
    if expected_size and done > expected_size:
        part.unlink()
        done = 0
    if expected_size and done == expected_size:
        os.replace(part, dest)  # the previous run got every byte but stopped before renaming
        return dest
    request = urllib.request.Request(url, headers={"User-Agent": "lora-studio"})
    if done:
        request.add_header("Range", f"bytes={done}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except (OSError, http.client.HTTPException) as e:  # URLError is an OSError
        reason = getattr(e, "reason", None) or e
        raise DatasetError("lesson_data.download_failed", url=url, reason=reason,
                           help=_offline_help(url, dest, unpack_into or dest.with_suffix(""))) from None
    close_bar = None
    if on_progress is None:
        on_progress, close_bar = _tqdm_progress(dest.name)
    try:
        with response:
            resumed = getattr(response, "status", None) == 206
            if not resumed:
                done = 0  # the server ignored the Range header: start over
            length = response.headers.get("Content-Length")
            total = done + int(length) if length else None
            if expected_size and total and total != expected_size:
                raise DatasetError("lesson_data.size_differs", url=url, total=total, expected=expected_size)
            on_progress(done, total or expected_size)
            with open(part, "ab" if resumed else "wb") as out:
                try:
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        done += len(chunk)
                        on_progress(done, total or expected_size)
                except (OSError, http.client.HTTPException) as e:
                    raise DatasetError("lesson_data.broke_off", url=url, done=done, detail=e) from None
                out.flush()
                os.fsync(out.fileno())
    finally:
        if close_bar:
            close_bar()
    size = part.stat().st_size
    want = expected_size or total
    if want and size != want:
        raise DatasetError("lesson_data.incomplete", url=url, size=size, want=want)
    os.replace(part, dest)
    return dest


def _member_target(root: Path, name: str, strip: str) -> Path | None:
    """Where a zip member goes under `root`, with the archive's top folder stripped; None for folders."""
    parts = PurePosixPath(name).parts
    if strip and parts and parts[0] == strip:
        parts = parts[1:]
    if not parts or name.endswith("/") or parts[0] == "__MACOSX":
        return None
    if any(p in ("..", "") or p.startswith("/") for p in parts):
        raise DatasetError("lesson_data.unsafe_path", name=name)
    return root.joinpath(*parts)


def extract_zip(archive: Path, folder: Path) -> Path:
    """Unpack `archive` into `folder` (its single top folder, if any, stripped), after checking every CRC."""
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise DatasetError("lesson_data.damaged_archive", archive=archive, member=bad)
            tops = {PurePosixPath(n).parts[0] for n in zf.namelist() if PurePosixPath(n).parts}
            tops.discard("__MACOSX")
            strip = next(iter(tops)) if len(tops) == 1 else ""
            with atomic_dir(folder) as tmp:
                for info in zf.infolist():
                    target = _member_target(tmp, info.filename, strip)
                    if target is None:
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as dst:
                        while chunk := src.read(CHUNK):
                            dst.write(chunk)
    except zipfile.BadZipFile:
        raise DatasetError("lesson_data.not_zip", archive=archive) from None
    return folder


def is_unpacked(folder: Path) -> bool:
    folder = Path(folder)
    return folder.is_dir() and any(folder.iterdir())


def ensure_downloaded_dataset(folder: Path, url: str, expected_size: int | None = None, *,
                              on_progress: ProgressFn | None = None,
                              on_unpack: Callable[[Path], None] | None = None) -> Path:
    """Return `folder`, downloading and unpacking `url` into it first when it does not exist yet.

    `on_unpack(folder)` is called before unpacking starts (a few seconds with no progress to show).
    """
    folder = Path(folder)
    if is_unpacked(folder):
        return folder
    archive = local_archive(url)
    if archive is not None and not archive.is_file():
        raise DatasetError("lesson_data.url_not_file", url=url)
    archive = archive or folder.parent / (PurePosixPath(urllib.parse.urlsplit(url).path).name or f"{folder.name}.zip")
    if not archive.is_file():
        log.info("downloading %s to %s", url, archive)
        download_file(url, archive, expected_size, on_progress=on_progress, unpack_into=folder)
    elif expected_size and archive.stat().st_size != expected_size:
        raise DatasetError("lesson_data.archive_size", archive=archive, size=archive.stat().st_size,
                           expected=expected_size)
    log.info("unpacking %s into %s", archive, folder)
    if on_unpack:
        on_unpack(folder)
    return extract_zip(archive, folder)
