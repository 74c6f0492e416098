"""Images in a `split/class/*.jpg` folder -> resized uint8 tensors in memory, and the seeded validation/test split.

Every image is decoded once (the 3,000 cats-and-dogs photos take about 450 MB at 224 px), so epochs never wait
for JPEG decoding. Files that are not readable images are reported by name and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DatasetError, UserError
from ..text import Text

log = logging.getLogger(__name__)



IMAGE_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError)


def _image_tensor(source: str | Path | Image.Image, size: int) -> torch.Tensor:
    if isinstance(source, Image.Image):
        img = source
    else:
        img = Image.open(source)
        img.draft("RGB", (size, size))  # JPEG: decode at a smaller scale when that is still >= size
    img = ImageOps.exif_transpose(img).convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)


def load_image(source: str | Path | Image.Image, size: int) -> torch.Tensor:
    """One picture as a uint8 [3, size, size] tensor: upright (EXIF), RGB, squashed to a square like Keras does.

    Training and `predict` both go through here, so a photo is seen exactly the same way in both.
    """
    try:
        return _image_tensor(source, size)
    except IMAGE_ERRORS as e:
        raise UserError("lesson_data.not_image", source=source, kind=type(e).__name__, detail=e) from None


@dataclass
class ImageSet:
    """A labelled set of images, all in memory."""

    images: torch.Tensor  # uint8 [N, 3, H, W], values 0..255
    labels: torch.Tensor  # int64 [N]
    files: list[Path]
    classes: list[str]

    def __len__(self) -> int:
        return len(self.files)

    def subset(self, indices: list[int]) -> ImageSet:
        index = torch.tensor(indices, dtype=torch.long)
        return ImageSet(self.images[index], self.labels[index], [self.files[i] for i in indices], self.classes)

    def batches(self, batch_size: int, generator: torch.Generator | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches in a shuffled order when `generator` is given, else in order."""
        order = torch.randperm(len(self), generator=generator) if generator is not None else torch.arange(len(self))
        for start in range(0, len(self), batch_size):
            index = order[start:start + batch_size]
            yield self.images[index], self.labels[index]

    def num_batches(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)


@dataclass
class LessonSplits:
    train: ImageSet
    validation: ImageSet
    test: ImageSet
    classes: list[str]
    skipped: list[Text] = field(default_factory=list)  # "PATH: REASON" per file that was left out, by key


def find_classes(split_dir: Path) -> list[str]:
    if not split_dir.is_dir():
        raise DatasetError("lesson_data.split_missing", folder=split_dir, split=split_dir.name)
    classes = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DatasetError("lesson_data.too_few_classes", folder=split_dir, count=len(classes))
    return classes


def list_files(split_dir: Path, classes: list[str]) -> list[tuple[Path, int]]:
    files = []
    for label, name in enumerate(classes):
        folder = split_dir / name
        if not folder.is_dir():
            raise DatasetError("lesson_data.class_missing", folder=folder, classes=", ".join(classes))
        files += [(p, label) for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
    if not files:
        raise DatasetError("lesson_data.no_images", folder=split_dir)
    return files


def load_split(split_dir: Path, classes: list[str], size: int, skipped: list[Text],
               on_progress: Callable[[int, int], None] | None = None) -> ImageSet:
    """Decode every image of one split; unreadable files are logged once, added to `skipped` and left out."""
    files = list_files(split_dir, classes)
    images, labels, kept = [], [], []
    for i, (path, label) in enumerate(files):
        try:
            images.append(_image_tensor(path, size))
        except IMAGE_ERRORS as e:
            reason = Text("lesson.skip_not_image" if isinstance(e, UnidentifiedImageError) else "lesson.skip_damaged")
            skipped.append(Text("lesson_data.skipped_file", path=str(path), reason=reason))
            log.warning("skipped %s: %s", path, reason)
            continue
        finally:
            if on_progress:
                on_progress(i + 1, len(files))
        labels.append(label)
        kept.append(path)
    if not kept:
        raise DatasetError("lesson_data.no_readable_images", folder=split_dir, skipped=len(files))
    return ImageSet(torch.stack(images), torch.tensor(labels, dtype=torch.long), kept, classes)


def split_validation(validation: ImageSet, test_fraction: float, seed: int) -> tuple[ImageSet, ImageSet]:
    """Seeded, per-class split: `test_fraction` of each class becomes the test set, the rest stays validation."""
    generator = torch.Generator().manual_seed(seed)
    val_idx, test_idx = [], []
    for label in range(len(validation.classes)):
        members = (validation.labels == label).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=generator)].tolist()
        n_test = round(len(members) * test_fraction)
        test_idx += members[:n_test]
        val_idx += members[n_test:]
    if not val_idx or not test_idx:
        raise DatasetError("lesson_data.validation_too_small", images=len(validation), fraction=test_fraction)
    return validation.subset(sorted(val_idx)), validation.subset(sorted(test_idx))


def check_layout(folder: Path, train_split: str = "train", validation_split: str = "validation") -> list[str]:
    """The class names, or a DatasetError naming what is missing; lists folders only, so it takes a moment."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError("lesson_data.folder_missing", folder=folder, train=train_split,
                           validation=validation_split)
    classes = find_classes(folder / train_split)
    if not (folder / validation_split).is_dir():
        raise DatasetError("lesson_data.validation_missing", folder=folder / validation_split,
                           validation=validation_split, classes=", ".join(classes))
    for split in (train_split, validation_split):
        list_files(folder / split, classes)
    return classes


def load_splits(folder: Path, *, image_size: int, train_split: str = "train", validation_split: str = "validation",
                test_fraction: float = 0.2, seed: int = 42,
                on_progress: Callable[[str, int, int], None] | None = None) -> LessonSplits:
    """Read `folder/train/<class>/*` and `folder/validation/<class>/*`; split validation into validation + test."""
    folder = Path(folder)
    classes = check_layout(folder, train_split, validation_split)
    skipped: list[Text] = []

    def progress(split: str) -> Callable[[int, int], None] | None:
        return (lambda done, total: on_progress(split, done, total)) if on_progress else None

    train = load_split(folder / train_split, classes, image_size, skipped, progress("train"))
    validation = load_split(folder / validation_split, classes, image_size, skipped, progress("validation"))
    validation, test = split_validation(validation, test_fraction, seed)
    return LessonSplits(train, validation, test, classes, skipped)
