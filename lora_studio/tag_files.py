"""Writing tags into a dataset's caption files: automatic tagging, removing tags everywhere, and undoing the last
such change.

Before the first caption of a change is written, every caption of the dataset is saved to one hidden backup file
(`.lora-studio-tags-backup.json`, ignored by the scanner like every hidden file); `restore_backup` puts those
captions back once. Every caption is written atomically, so a crash leaves each one either old or new, and the
backup (written first) still restores them all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .atomic import write_bytes_atomic, write_text_atomic
from .config import DatasetConfig
from .data import CAPTION_EXTENSIONS, ImageItem, load_image, parse_tags, scan_dataset
from .errors import DatasetError, UserError
from .tagger import CHARACTER, Tagger, TagOptions, pick_tags

BACKUP_NAME = ".lora-studio-tags-backup.json"
MAX_BACKUP_BYTES = 32 * 1024 * 1024
Progress = Callable[[int, int], None]  # (pictures done, pictures to tag)


def dataset_items(folder: Path) -> tuple[list[ImageItem], list[str]]:
    """The pictures training uses (decoded like the trainer does) and the scan's warnings."""
    scan = scan_dataset(DatasetConfig(path=str(folder), trigger_word=""))
    return scan.items, scan.warnings


def caption_path(item: ImageItem) -> Path:
    return item.caption_path or item.path.with_suffix(".txt")


def shared_trigger(items: list[ImageItem]) -> str:
    """The tag every tagged caption starts with (a trigger word typed earlier), when two captions or more have it;
    pictures without tags yet (the ones being tagged) do not count against it."""
    firsts = [item.tags[0] for item in items if item.tags]
    return firsts[0] if len(firsts) > 1 and len(set(firsts)) == 1 else ""


def merge_tags(old: list[str], new: list[str], mode: str, trigger: str) -> list[str]:
    """The caption a picture gets: `keep` leaves tagged pictures alone, `add` puts new tags after the old ones (no
    duplicates), `replace` writes only the new ones; the trigger word goes first in every caption written."""
    if mode == "keep" and old:
        return old
    tags = old + [t for t in new if t not in old] if mode == "add" else list(new)
    first = parse_tags(trigger)
    return first + [t for t in tags if t not in first]


# ---------------------------------------------------------------- backup


def _relative(folder: Path, path: Path) -> str:
    return path.relative_to(folder).as_posix()


def write_backup(folder: Path, items: list[ImageItem], reason: str, character_tags: Iterable[str] = ()) -> None:
    """Keep every caption as it is now (None: the picture had none), replacing any older backup."""
    captions = {}
    for item in items:
        path = caption_path(item)
        readable = path.is_file() and not path.is_symlink()
        captions[_relative(folder, path)] = _read_exact(path) if readable else None
    data = {"version": 1, "reason": reason, "time": time.strftime("%Y-%m-%d %H:%M:%S"),
            "character_tags": sorted(character_tags), "captions": captions}
    # ASCII JSON: a caption that is not UTF-8 keeps its bytes as escaped surrogates and comes back byte for byte.
    write_text_atomic(folder / BACKUP_NAME, json.dumps(data, indent=1))


def _read_exact(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def _read_backup(folder: Path) -> dict:
    path = folder / BACKUP_NAME
    if path.is_symlink() or not path.is_file():
        raise DatasetError("tagger.no_backup", name=folder.name)
    if path.stat().st_size > MAX_BACKUP_BYTES:
        raise DatasetError("tagger.backup_too_large", path=path, mb=MAX_BACKUP_BYTES // 2**20)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data.get("captions"), dict):
            raise ValueError("no captions")
    except (ValueError, AttributeError) as e:
        raise DatasetError("tagger.backup_damaged", path=path, detail=e) from None
    return data


def backup_info(folder: Path) -> dict | None:
    """When and why the backup was made, how many captions it holds, the character tags the tagger saw; or None."""
    try:
        data = _read_backup(folder)
    except DatasetError:
        return None
    return {"reason": data.get("reason", ""), "time": data.get("time", ""), "captions": len(data["captions"]),
            "character_tags": [str(t) for t in data.get("character_tags", [])]}


def _caption_target(folder: Path, relative: str) -> Path:
    """Where a backed-up caption goes back: a caption file inside `folder`, never through a link."""
    parts = PurePosixPath(relative).parts
    if (not parts or PurePosixPath(relative).is_absolute() or any(p in ("..", ".") or p.startswith(".") for p in parts)
            or PurePosixPath(relative).suffix.lower() not in CAPTION_EXTENSIONS):
        raise DatasetError("tagger.backup_bad_name", name=folder.name, relative=relative, backup=BACKUP_NAME)
    probe = folder
    for part in parts:
        probe = probe / part
        if probe.is_symlink():
            raise DatasetError("tagger.caption_link", relative=relative, name=folder.name)
    return probe


def restore_backup(folder: Path) -> int:
    """Put back the captions of the backup (removing the ones that did not exist), then drop it; returns how many
    captions changed."""
    if folder.is_symlink():
        raise DatasetError("tagger.dataset_link", name=folder.name)
    captions = _read_backup(folder)["captions"]
    targets = {relative: _caption_target(folder, relative) for relative in captions}  # all checked before writing
    changed = 0
    for relative, text in captions.items():
        target = targets[relative]
        now = _read_exact(target) if target.is_file() else None
        if now == text:
            continue
        if text is None:
            target.unlink(missing_ok=True)
        else:
            write_bytes_atomic(target, str(text).encode("utf-8", "surrogateescape"))
        changed += 1
    (folder / BACKUP_NAME).unlink()
    return changed


# ---------------------------------------------------------------- changing captions


@dataclass
class TagReport:
    pictures: int = 0                   # pictures in the dataset
    tagged: int = 0                     # pictures the tagger looked at (keep mode skips tagged ones)
    changed: int = 0                    # caption files written
    character_tags: list[str] = field(default_factory=list)  # character tags the tagger recognised
    captions: dict[str, list[str]] = field(default_factory=dict)  # picture (relative) -> its tags now
    skipped: list[str] = field(default_factory=list)  # pictures that could not be read, with why


class _Writer:
    """Writes changed captions, taking the backup before the first one."""

    def __init__(self, folder: Path, items: list[ImageItem], reason: str) -> None:
        self.folder, self.items, self.reason, self.changed = folder, items, reason, 0
        self.character_tags: set[str] = set()

    def write(self, item: ImageItem, tags: list[str]) -> None:
        if tags == item.tags:
            return
        if self.changed == 0:
            write_backup(self.folder, self.items, self.reason, self.character_tags)
        write_text_atomic(caption_path(item), ", ".join(tags) + "\n")
        self.changed += 1


def tag_items(folder: Path, items: list[ImageItem], tagger: Tagger, options: TagOptions,
              progress: Progress | None = None) -> TagReport:
    """Tag the pictures `items` of the dataset `folder` in batches and write their captions as `options.mode` says."""
    options.check()
    trigger = options.trigger.strip() or shared_trigger(items)
    todo = [item for item in items if not (options.mode == "keep" and item.tags)]
    report = TagReport(pictures=len(items), tagged=len(todo))
    report.captions = {_relative(folder, item.path): list(item.tags) for item in items}
    writer = _Writer(folder, items, "tag")
    results: list[tuple[ImageItem, list[str]]] = []
    for start in range(0, len(todo), options.batch_size):
        batch, images = [], []
        for item in todo[start:start + options.batch_size]:
            try:
                images.append(load_image(item.path))
                batch.append(item)
            except UserError as e:  # changed since the scan: name it, tag the others
                report.skipped.append(str(e))
        for item, probs in zip(batch, tagger.probabilities(images) if images else [], strict=True):
            predictions = pick_tags(probs, tagger.labels, options)
            writer.character_tags.update(p.tag for p in predictions if p.category == CHARACTER)
            results.append((item, merge_tags(item.tags, [p.tag for p in predictions], options.mode, trigger)))
        if progress:
            progress(min(start + options.batch_size, len(todo)), len(todo))
    # Written after all inference, so the backup knows every character tag the tagger saw.
    for item, tags in results:
        writer.write(item, tags)
        report.captions[_relative(folder, item.path)] = tags
    report.changed, report.character_tags = writer.changed, sorted(writer.character_tags)
    return report


def remove_tags(folder: Path, items: list[ImageItem], tags: Iterable[str], character_tags: Iterable[str] = ()) -> int:
    """Remove `tags` from every picture's caption (backup first); returns how many captions changed."""
    drop = {t for tag in tags for t in parse_tags(tag)}
    if not drop:
        raise DatasetError("tagger.nothing_to_remove")
    writer = _Writer(folder, items, "remove")
    writer.character_tags.update(character_tags)
    for item in items:
        kept = [t for t in item.tags if t not in drop]
        if kept != item.tags:
            writer.write(item, kept)
    return writer.changed
