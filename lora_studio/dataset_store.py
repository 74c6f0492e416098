"""The Dataset tab's file work, without any UI: import uploads and zips safely, edit tags, describe a dataset.

A dataset is `datasets/<name>/` with `image.png` + `image.txt` (comma-separated tags), the layout the trainer
reads. Upload names are checked by paths.safe_relative/inside, so nothing lands outside the folder.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from .atomic import write_bytes_atomic, write_text_atomic
from .config import DatasetConfig
from .data import (
    CAPTION_EXTENSIONS,
    IMAGE_EXTENSIONS,
    REPEAT_FOLDER,
    ImageItem,
    load_image,
    parse_tags,
    scan_dataset,
    tag_frequency,
)
from .errors import DatasetError, StudioError, UserError
from .sample_data import README as SAMPLE_README
from .studio_paths import inside, links_in, safe_relative
from .text import Text

MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # one picture; a zip's members each and...
MAX_ZIP_TOTAL = 2 * 1024 * 1024 * 1024  # ...all of them together (zip bombs)
MAX_CAPTION_BYTES = 64 * 1024
SMALL_SIDE = 256  # below this a picture still trains, but poorly: say so
# "Too small to train on" is judged like the character presets train (the trainer's default bucket_step);
# the Train tab's step count scans with the preset actually chosen.
CHECK_BUCKET_STEP = DatasetConfig().bucket_step


@dataclass
class ImportReport:
    saved: list[str] = field(default_factory=list)
    rejected: list[Text] = field(default_factory=list)  # "name: reason", one per refused file


@dataclass
class DatasetView:
    folder: Path
    items: list[ImageItem]
    warnings: list[str]  # Texts (keyed): the studio's own notes and the scan's warnings
    tags: dict[str, int]  # tag -> number of images carrying it, most frequent first
    trigger: str  # the tag every caption starts with, if there is one
    skipped: list[str] = field(default_factory=list)  # pictures in the folder that training would not use

    def relative(self, item: ImageItem) -> str:
        return item.path.relative_to(self.folder).as_posix()


# ---------------------------------------------------------------- importing


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


# ---------------------------------------------------------------- describing


def _duplicates(items: list[ImageItem], folder: Path) -> list[str]:
    by_hash: dict[str, list[str]] = {}
    for item in items:
        digest = hashlib.sha256(item.path.read_bytes()).hexdigest()
        by_hash.setdefault(digest, []).append(item.path.relative_to(folder).as_posix())
    return [Text("ds_dup", names=", ".join(repr(n) for n in names)) for names in by_hash.values() if len(names) > 1]


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
        notes.append(Text("ds_link_skipped", name=name))
    kept = []
    for item in items:
        relative = item.path.relative_to(folder).as_posix()
        if any(relative == link or relative.startswith(link + "/") for link in links):
            continue
        if item.caption_path is not None and item.caption_path.is_symlink():
            item = replace(item, caption_path=None, tags=[])
        kept.append(item)
    return kept


def pictures_on_disk(folder: Path) -> list[str]:
    """Every picture file in the folder and its subfolders (relative names), no links, nothing hidden."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):  # os.walk does not descend into linked folders
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            path = Path(dirpath) / name
            if path.suffix.lower() in IMAGE_EXTENSIONS and not name.startswith(".") and not path.is_symlink():
                found.append(path.relative_to(folder).as_posix())
    return sorted(found)


def describe(folder: Path) -> DatasetView:
    """Scan like the trainer does (every image decoded) and add what a person preparing pictures should know,
    including the pictures training would skip, so they can be removed."""
    if folder.is_symlink():
        return DatasetView(folder, [], [Text("ds_folder_link", name=folder.name)], {}, "")
    if not folder.is_dir() or not any(folder.iterdir()):
        return DatasetView(folder, [], [], {}, "")
    try:
        scan = scan_dataset(DatasetConfig(path=str(folder), trigger_word="", bucket_step=CHECK_BUCKET_STEP))
    except DatasetError as e:
        return DatasetView(folder, [], [str(e)], {}, "", skipped=pictures_on_disk(folder))
    notes = list(scan.warnings)
    scan.items = _without_links(folder, scan.items, notes)
    small = [item for item in scan.items if min(item.width, item.height) < SMALL_SIDE]
    if small and is_sample_dataset(folder):  # drawn small on purpose: one note, not one warning per picture
        notes.append(Text("ds_sample_small", n=len(small), side=SMALL_SIDE))
        small = []
    for item in small:
        notes.append(Text("ds_small", name=item.path.relative_to(folder).as_posix(), w=item.width, h=item.height,
                         side=SMALL_SIDE))
    notes += _duplicates(scan.items, folder)
    view = DatasetView(folder, scan.items, notes, tag_frequency(scan.items), _guess_trigger(scan.items))
    used = {view.relative(item) for item in scan.items}
    view.skipped = [name for name in pictures_on_disk(folder) if name not in used]
    return view


def is_sample_dataset(folder: Path) -> bool:
    """The built-in drawings (sample_data.py), recognised by the README it writes beside them."""
    readme = folder / "README.txt"
    try:
        return not readme.is_symlink() and readme.read_text(encoding="utf-8")[:200].startswith(SAMPLE_README[:60])
    except (OSError, UnicodeDecodeError):
        return False


def trigger_of(folder: Path) -> str:
    """The tag every caption beside a picture starts with, if there is one (cheap: no image decoding)."""
    firsts = set()
    if folder.is_symlink():
        return ""
    for caption in folder.rglob("*.txt"):
        if any(caption.with_suffix(ext).is_file() for ext in IMAGE_EXTENSIONS) and not caption.is_symlink():
            tags = parse_tags(caption.read_text(encoding="utf-8", errors="replace")[:MAX_CAPTION_BYTES])
            firsts.add(tags[0] if tags else "")
    return firsts.pop() if len(firsts) == 1 else ""


def quick_tags(folder: Path) -> dict[str, int]:
    """Tag counts from the caption files beside pictures (no image decoding), for prompt suggestions."""
    counts: Counter[str] = Counter()
    if folder.is_symlink():  # a linked dataset folder is never read through
        return {}
    for caption in folder.rglob("*.txt"):
        has_picture = any(caption.with_suffix(ext).is_file() for ext in IMAGE_EXTENSIONS)  # not a README.txt
        if has_picture and not caption.is_symlink() and caption.stat().st_size <= MAX_CAPTION_BYTES:
            counts.update(set(parse_tags(caption.read_text(encoding="utf-8", errors="replace"))))
    return dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])))


# ---------------------------------------------------------------- editing tags


def _image(folder: Path, relative: str) -> Path:
    path = inside(folder, safe_relative(relative))
    if not path.is_file() or path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise StudioError("ds_not_in", name=relative, dataset=folder.name)
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
    """Apply `change(tags) -> tags` to the caption of every picture training uses (the ones the gallery shows,
    not the skipped ones); returns how many captions changed."""
    changed = 0
    for item in describe(folder).items:
        new = change(item.tags)  # the scan's tags: a linked caption reads as empty and is never read through
        if new != item.tags:
            write_text_atomic(item.caption_path or _caption_of(item.path), ", ".join(new) + "\n")
            changed += 1
    return changed


def add_tag_everywhere(folder: Path, tag: str, first: bool = False) -> int:
    tags = parse_tags(tag)
    if not tags:
        raise StudioError("ds_type_tag")
    if first:
        return _rewrite_all(folder, lambda old: tags + [t for t in old if t not in tags])
    return _rewrite_all(folder, lambda old: old + [t for t in tags if t not in old])


def remove_tag_everywhere(folder: Path, tag: str) -> int:
    tags = parse_tags(tag)
    if not tags:
        raise StudioError("ds_type_tag_remove")
    return _rewrite_all(folder, lambda old: [t for t in old if t not in tags])


def delete_picture(folder: Path, relative: str) -> None:
    image = _image(folder, relative)
    caption = _caption_of(image)
    image.unlink()
    caption.unlink(missing_ok=True)
