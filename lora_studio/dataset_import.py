"""Uploads into a dataset folder, without any UI: pictures, .txt tag files and zips of both, each refusal named.

Names are checked by studio_paths.safe_relative/inside, so nothing lands outside the folder; sizes are capped per
file and per zip (zip bombs), pictures are decoded fully before they are kept, links are refused.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .atomic import write_bytes_atomic, write_text_atomic
from .data import CAPTION_EXTENSIONS, IMAGE_EXTENSIONS, REPEAT_FOLDER, load_image, parse_tags
from .errors import DatasetError, StudioError, UserError
from .studio_paths import inside, safe_relative
from .text import Text

MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # one picture; a zip's members each and...
MAX_ZIP_TOTAL = 2 * 1024 * 1024 * 1024  # ...all of them together (zip bombs)
MAX_CAPTION_BYTES = 64 * 1024


@dataclass
class ImportReport:
    saved: list[str] = field(default_factory=list)
    rejected: list[Text] = field(default_factory=list)  # "name: reason", one per refused file


def _check(folder: Path, shown: str, name: str, size: int, report: ImportReport) -> tuple[PurePosixPath, Path] | None:
    """The safe relative name and target of one upload (`shown` in messages), or None (the reason in the report)."""
    try:
        relative = safe_relative(name)
        suffix = relative.suffix.lower()
        if suffix not in IMAGE_EXTENSIONS + CAPTION_EXTENSIONS:
            raise StudioError("up_not_picture", name=shown, exts=", ".join(IMAGE_EXTENSIONS))
        if size > (MAX_CAPTION_BYTES if suffix in CAPTION_EXTENSIONS else MAX_UPLOAD_BYTES):
            raise StudioError("up_too_large_kib", name=shown, kib=size // 1024)
        return relative, inside(folder, relative)
    except StudioError as e:
        report.rejected.append(e.msg)
        return None


def _store_image(folder: Path, shown: str, name: str, data: bytes, report: ImportReport) -> None:
    checked = _check(folder, shown, name, len(data), report)
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
        report.rejected.append(Text("up_broken", detail=Text(e.key, **{**e.values, "path": shown})))
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staged.replace(target)
    report.saved.append(relative.as_posix())


def _store_caption(folder: Path, shown: str, name: str, data: bytes, report: ImportReport) -> None:
    checked = _check(folder, shown, name, len(data), report)
    if checked is None:
        return
    relative, target = checked
    if not any(target.with_suffix(ext).is_file() for ext in IMAGE_EXTENSIONS):
        report.rejected.append(Text("up_no_picture", name=shown, stem=PurePosixPath(shown).stem))
        return
    write_text_atomic(target, ", ".join(parse_tags(data.decode("utf-8-sig", errors="replace"))) + "\n")
    report.saved.append(relative.as_posix())


def _is_caption(name: str) -> bool:
    return PurePosixPath(name.replace("\\", "/")).suffix.lower() in CAPTION_EXTENSIONS


def _is_repeat_folder(name: str) -> bool:
    match = REPEAT_FOLDER.match(name)
    return bool(match) and int(match.group(1)) >= 1


def zip_layout(names: list[str]) -> dict[str, str]:
    """Where each zip entry goes in the dataset. A zipped folder ("compress folder" gives `mychar/pic.png`) lands
    at the top; kohya `N_name/` folders stay; pictures of other plain folders come up to the top (the trainer
    reads only the top and `N_name/` folders), as `folder_pic.png` when two would share a name. Unsafe names
    stay as they are, to be refused by name."""
    split: dict[str, list[str]] = {}
    for name in names:
        try:
            split[name] = list(safe_relative(name).parts)
        except UserError:
            continue
    lists = list(split.values())
    depth = 0  # leading folders all entries share, down to the first kohya folder
    while lists and all(len(p) > depth + 1 for p in lists) and len({p[depth] for p in lists}) == 1 \
            and not _is_repeat_folder(lists[0][depth]):
        depth += 1
    placed = []
    for name, parts in split.items():
        *folders, file = parts[depth:]
        keep = [folders[0]] if folders and _is_repeat_folder(folders[0]) else []
        placed.append((len(folders) - len(keep), name, folders, keep, file))
    layout, owner = {}, {}  # owner: (target folder, stem) -> the source folder that claimed it
    for _, name, folders, keep, file in sorted(placed):  # files already in place claim their names first
        stem, suffix = PurePosixPath(file).stem, PurePosixPath(file).suffix
        if owner.setdefault((tuple(keep), stem.lower()), tuple(folders)) != tuple(folders):
            stem = "_".join(folders[len(keep):] + [stem])
            owner.setdefault((tuple(keep), stem.lower()), tuple(folders))
        layout[name] = "/".join(keep + [stem + suffix])
    return {name: layout.get(name, name) for name in names}


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: Path, report: ImportReport) -> bytes | None:
    """One member's bytes, never more than MAX_UPLOAD_BYTES whatever its header claims; None (and the reason in
    the report) for a member that is too large, damaged, encrypted or packed in a way zipfile cannot read."""
    try:
        with zf.open(info) as member:
            data = member.read(MAX_UPLOAD_BYTES + 1)  # a lying size header cannot make us read more
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError, RuntimeError, NotImplementedError, ValueError) as e:
        report.rejected.append(Text("up_zip_unreadable", name=info.filename, archive=archive.name, error=str(e) or type(e).__name__))
        return None
    if len(data) > MAX_UPLOAD_BYTES:
        report.rejected.append(Text("up_zip_large", name=info.filename, archive=archive.name))
        return None
    return data


def _zip_entries(archive: Path, report: ImportReport) -> list[tuple[str, str, bytes]]:
    """(name shown in messages, name in the dataset, bytes) of each entry worth saving."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        report.rejected.append(Text("up_bad_zip", name=archive.name, error=str(e)))
        return []
    entries, total = [], 0
    with zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir() or name.startswith("__MACOSX/") or PurePosixPath(name).name in (".DS_Store", "Thumbs.db"):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                report.rejected.append(Text("up_zip_link", name=name, archive=archive.name))
                continue
            total += info.file_size
            if info.file_size > MAX_UPLOAD_BYTES or total > MAX_ZIP_TOTAL:
                report.rejected.append(Text("up_zip_large", name=name, archive=archive.name))
                continue
            data = _read_member(zf, info, archive, report)
            if data is None:
                continue
            total += len(data)  # what was really read counts, not what the header says
            if total > MAX_ZIP_TOTAL:
                report.rejected.append(Text("up_zip_large", name=name, archive=archive.name))
                continue
            entries.append((name, data))
    layout = zip_layout([name for name, _ in entries])
    return [(name, layout[name], data) for name, data in entries]


def import_uploads(folder: Path, uploads: list[str | Path]) -> ImportReport:
    """Save uploaded pictures, .txt tag files and zips of both into `folder`; every refusal is named.

    Pictures go first, so a tag file is kept only when its picture exists (a stray README.txt is not a caption).
    A folder that did not exist and receives nothing is not left behind (it would show up as an empty dataset).
    """
    if folder.is_symlink():  # the studio resolves names with paths.dataset, which refuses this already
        raise StudioError("ds_folder_link", name=folder.name)
    report = ImportReport()
    existed = folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _import_into(folder, uploads, report)
    finally:  # also when something unexpected stops the import: no empty dataset is left behind
        if not existed and not report.saved and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return report


def _import_into(folder: Path, uploads: list[str | Path], report: ImportReport) -> None:
    entries: list[tuple[str, str, bytes]] = []
    for upload in uploads:
        path = Path(upload)
        if path.is_symlink():
            report.rejected.append(Text("up_link", name=path.name))
        elif path.suffix.lower() == ".zip":
            entries += _zip_entries(path, report)
        elif path.stat().st_size > MAX_UPLOAD_BYTES:
            report.rejected.append(Text("up_too_large", name=path.name))
        else:
            entries.append((path.name, path.name, path.read_bytes()))
    for shown, name, data in entries:
        if not _is_caption(name):
            _store_image(folder, shown, name, data, report)
    for shown, name, data in entries:
        if _is_caption(name):
            _store_caption(folder, shown, name, data, report)
