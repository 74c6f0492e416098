"""The Dataset tab's file work, without any UI: describe a dataset, edit its tags, delete a picture.

A dataset is `datasets/<name>/` with `image.png` + `image.txt` (comma-separated tags), the layout the trainer
reads. Names from the browser are checked by studio_paths.safe_relative/inside, so nothing outside the folder is
touched. Uploads and zips come in through dataset_import.py.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from .atomic import write_text_atomic
from .config import DatasetConfig
from .data import (
    CAPTION_EXTENSIONS,
    IMAGE_EXTENSIONS,
    ImageItem,
    parse_tags,
    scan_dataset,
    tag_frequency,
)
from .dataset_import import MAX_CAPTION_BYTES
from .errors import DatasetError, StudioError
from .sample_data import README as SAMPLE_README
from .studio_paths import inside, links_in, safe_relative
from .text import Text

SMALL_SIDE = 256  # below this a picture still trains, but poorly: say so
# "Too small to train on" is judged like the character presets train (the trainer's default bucket_step);
# the Train tab's step count scans with the preset actually chosen.
CHECK_BUCKET_STEP = DatasetConfig().bucket_step


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
