"""The Dataset tab's file work, without any UI: import uploads and zips safely, edit tags, describe a dataset.

A dataset is `datasets/<name>/` with `image.png` + `image.txt` (comma-separated tags), the layout the trainer
reads. Upload names are checked by paths.safe_relative/inside, so nothing lands outside the folder.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from ..atomic import write_bytes_atomic, write_text_atomic
from ..config import DatasetConfig
from ..data import (
    CAPTION_EXTENSIONS,
    IMAGE_EXTENSIONS,
    ImageItem,
    load_image,
    parse_tags,
    scan_dataset,
    tag_frequency,
)
from ..errors import DatasetError, UserError
from .paths import inside, links_in, safe_relative

MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # one picture; a zip's members each and...
MAX_ZIP_TOTAL = 2 * 1024 * 1024 * 1024  # ...all of them together (zip bombs)
MAX_CAPTION_BYTES = 64 * 1024
SMALL_SIDE = 256  # below this a picture still trains, but poorly: say so


@dataclass
class ImportReport:
    saved: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # "name: reason", one per refused file


@dataclass
class DatasetView:
    folder: Path
    items: list[ImageItem]
    warnings: list[str]
    tags: dict[str, int]  # tag -> number of images carrying it, most frequent first
    trigger: str  # the tag every caption starts with, if there is one

    def relative(self, item: ImageItem) -> str:
        return item.path.relative_to(self.folder).as_posix()


# ---------------------------------------------------------------- importing


def _check(folder: Path, name: str, size: int, report: ImportReport) -> tuple[PurePosixPath, Path] | None:
    """The safe relative name and target of one upload, or None (with the reason in the report)."""
    try:
        relative = safe_relative(name)
        suffix = relative.suffix.lower()
        if suffix not in IMAGE_EXTENSIONS + CAPTION_EXTENSIONS:
            raise UserError(f"'{name}' is not a picture ({', '.join(IMAGE_EXTENSIONS)}) or a tag file (.txt); "
                            f"it was not saved")
        if size > (MAX_CAPTION_BYTES if suffix in CAPTION_EXTENSIONS else MAX_UPLOAD_BYTES):
            raise UserError(f"'{name}' is too large ({size // 1024} KiB); it was not saved")
        return relative, inside(folder, relative)
    except UserError as e:
        report.rejected.append(str(e))
        return None


def _store_image(folder: Path, name: str, data: bytes, report: ImportReport) -> None:
    checked = _check(folder, name, len(data), report)
    if checked is None:
        return
    relative, target = checked
    if relative.suffix.lower() in CAPTION_EXTENSIONS:
        return
    staged = folder / f".upload-{hashlib.sha256(data).hexdigest()[:16]}{relative.suffix.lower()}"
    write_bytes_atomic(staged, data)
    try:
        load_image(staged)  # decode fully now, so a broken file is refused by name at upload time
    except DatasetError as e:
        staged.unlink(missing_ok=True)
        report.rejected.append(str(e).replace(f"'{staged}'", f"'{name}'") + "; it was not saved")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staged.replace(target)
    report.saved.append(relative.as_posix())


def _store_caption(folder: Path, name: str, data: bytes, report: ImportReport) -> None:
    checked = _check(folder, name, len(data), report)
    if checked is None:
        return
    relative, target = checked
    if not any(target.with_suffix(ext).is_file() for ext in IMAGE_EXTENSIONS):
        report.rejected.append(f"'{name}' has no picture of the same name (like {relative.stem}.png); "
                               f"tag files must be named after their picture")
        return
    write_text_atomic(target, ", ".join(parse_tags(data.decode("utf-8-sig", errors="replace"))) + "\n")
    report.saved.append(relative.as_posix())


def _is_caption(name: str) -> bool:
    return PurePosixPath(name.replace("\\", "/")).suffix.lower() in CAPTION_EXTENSIONS


def _zip_entries(archive: Path, report: ImportReport) -> list[tuple[str, bytes]]:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        report.rejected.append(f"'{archive.name}' is not a readable zip file ({e})")
        return []
    entries, total = [], 0
    with zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir() or name.startswith("__MACOSX/") or PurePosixPath(name).name in (".DS_Store", "Thumbs.db"):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                report.rejected.append(f"'{name}' in {archive.name} is a symbolic link; links are never extracted")
                continue
            total += info.file_size
            if info.file_size > MAX_UPLOAD_BYTES or total > MAX_ZIP_TOTAL:
                report.rejected.append(f"'{name}' in {archive.name} is too large once unpacked; it was not saved")
                continue
            entries.append((name, zf.read(info)))
    return entries


def import_uploads(folder: Path, uploads: list[str | Path]) -> ImportReport:
    """Save uploaded pictures, .txt tag files and zips of both into `folder`; every refusal is named.

    Pictures go first, so a tag file is kept only when its picture exists (a stray README.txt is not a caption).
    """
    report = ImportReport()
    folder.mkdir(parents=True, exist_ok=True)
    entries: list[tuple[str, bytes]] = []
    for upload in uploads:
        path = Path(upload)
        if path.is_symlink():
            report.rejected.append(f"'{path.name}' is a symbolic link; links are never followed")
        elif path.suffix.lower() == ".zip":
            entries += _zip_entries(path, report)
        elif path.stat().st_size > MAX_UPLOAD_BYTES:
            report.rejected.append(f"'{path.name}' is too large; it was not saved")
        else:
            entries.append((path.name, path.read_bytes()))
    for name, data in entries:
        if not _is_caption(name):
            _store_image(folder, name, data, report)
    for name, data in entries:
        if _is_caption(name):
            _store_caption(folder, name, data, report)
    return report


# ---------------------------------------------------------------- describing


def _duplicates(items: list[ImageItem], folder: Path) -> list[str]:
    by_hash: dict[str, list[str]] = {}
    for item in items:
        digest = hashlib.sha256(item.path.read_bytes()).hexdigest()
        by_hash.setdefault(digest, []).append(item.path.relative_to(folder).as_posix())
    return [f"duplicate pictures: {', '.join(repr(n) for n in names)} are the same file; keep one of them"
            for names in by_hash.values() if len(names) > 1]


def _guess_trigger(items: list[ImageItem]) -> str:
    firsts = Counter(item.tags[0] for item in items if item.tags)
    if not firsts:
        return ""
    tag, count = firsts.most_common(1)[0]
    return tag if count == len(items) and len(items) > 1 else ""


def _without_links(folder: Path, items: list[ImageItem], notes: list[str]) -> list[ImageItem]:
    """Pictures reached through a symbolic link are dropped and linked tag files ignored: the studio never reads
    (or shows) a file outside datasets/ that a link points to."""
    links = links_in(folder)
    for name in links:
        notes.append(f"skipped '{name}': it is a symbolic link; links are never followed (copy the file in instead)")
    kept = []
    for item in items:
        relative = item.path.relative_to(folder).as_posix()
        if any(relative == link or relative.startswith(link + "/") for link in links):
            continue
        if item.caption_path is not None and item.caption_path.is_symlink():
            item = replace(item, caption_path=None, tags=[])
        kept.append(item)
    return kept


def describe(folder: Path) -> DatasetView:
    """Scan like the trainer does (every image decoded) and add what a person preparing pictures should know."""
    if folder.is_symlink():
        return DatasetView(folder, [], [f"dataset '{folder.name}' is a symbolic link; links are never followed"],
                           {}, "")
    if not folder.is_dir() or not any(folder.iterdir()):
        return DatasetView(folder, [], [], {}, "")
    try:
        scan = scan_dataset(DatasetConfig(path=str(folder), trigger_word=""))
    except DatasetError as e:
        return DatasetView(folder, [], [str(e)], {}, "")
    notes = list(scan.warnings)
    scan.items = _without_links(folder, scan.items, notes)
    for item in scan.items:
        if min(item.width, item.height) < SMALL_SIDE:
            notes.append(f"small picture '{item.path.relative_to(folder).as_posix()}' ({item.width}x{item.height}): "
                         f"pictures of {SMALL_SIDE}-1024 px or more train much better")
    notes += _duplicates(scan.items, folder)
    return DatasetView(folder, scan.items, notes, tag_frequency(scan.items), _guess_trigger(scan.items))


def quick_tags(folder: Path) -> dict[str, int]:
    """Tag counts from the caption files beside pictures (no image decoding), for prompt suggestions."""
    counts: Counter[str] = Counter()
    for caption in folder.rglob("*.txt"):
        has_picture = any(caption.with_suffix(ext).is_file() for ext in IMAGE_EXTENSIONS)  # not a README.txt
        if has_picture and not caption.is_symlink() and caption.stat().st_size <= MAX_CAPTION_BYTES:
            counts.update(set(parse_tags(caption.read_text(encoding="utf-8", errors="replace"))))
    return dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])))


# ---------------------------------------------------------------- editing tags


def _image(folder: Path, relative: str) -> Path:
    path = inside(folder, safe_relative(relative))
    if not path.is_file() or path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise UserError(f"picture '{relative}' is not in dataset '{folder.name}'")
    return path


def _caption_of(image: Path) -> Path:
    for suffix in CAPTION_EXTENSIONS:
        if image.with_suffix(suffix).is_file():
            return image.with_suffix(suffix)
    return image.with_suffix(".txt")


def read_tags(folder: Path, relative: str) -> str:
    caption = _caption_of(_image(folder, relative))
    if caption.is_symlink():  # never read through a link; saving tags replaces the link with a real file
        return ""
    return ", ".join(parse_tags(caption.read_text(encoding="utf-8", errors="replace"))) if caption.is_file() else ""


def write_tags(folder: Path, relative: str, text: str) -> list[str]:
    tags = parse_tags(text)
    write_text_atomic(_caption_of(_image(folder, relative)), ", ".join(tags) + "\n")
    return tags


def _rewrite_all(folder: Path, change) -> int:
    """Apply `change(tags) -> tags` to every picture's caption; returns how many captions changed."""
    changed = 0
    for image in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()):
        caption = _caption_of(image)
        old = parse_tags(caption.read_text(encoding="utf-8", errors="replace")) if caption.is_file() else []
        new = change(old)
        if new != old:
            write_text_atomic(caption, ", ".join(new) + "\n")
            changed += 1
    return changed


def add_tag_everywhere(folder: Path, tag: str, first: bool = False) -> int:
    tags = parse_tags(tag)
    if not tags:
        raise UserError("type a tag first (for example 'smile')")
    if first:
        return _rewrite_all(folder, lambda old: tags + [t for t in old if t not in tags])
    return _rewrite_all(folder, lambda old: old + [t for t in tags if t not in old])


def remove_tag_everywhere(folder: Path, tag: str) -> int:
    tags = parse_tags(tag)
    if not tags:
        raise UserError("type the tag to remove first")
    return _rewrite_all(folder, lambda old: [t for t in old if t not in tags])


def delete_picture(folder: Path, relative: str) -> None:
    image = _image(folder, relative)
    caption = _caption_of(image)
    image.unlink()
    caption.unlink(missing_ok=True)
