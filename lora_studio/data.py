"""Dataset stage: scan a folder of tagged images, validate every file, make captions, assign buckets.

A dataset is a folder of images with a same-named `.txt` (or `.caption`) of comma-separated booru tags.
Subfolders named like kohya's `10_mychar` repeat their images 10 times per epoch; images directly in the
folder use `dataset.repeats`. Every image is opened and fully decoded at scan time, so training never meets
a bad file: unreadable ones are skipped with a warning that names them (or stop the scan with `strict`).
"""

from __future__ import annotations

import hashlib
import random
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .config import DatasetConfig
from .errors import DatasetError
from .text import Text

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
CAPTION_EXTENSIONS = (".txt", ".caption")
# Picture types people drop into a dataset that we do not train on (GIF is often animated); named in a warning.
UNSUPPORTED_IMAGE_EXTENSIONS = (".gif", ".tif", ".tiff", ".avif", ".heic", ".heif", ".jxl")
# Only these decoders may run: a file named .png could otherwise reach e.g. the EPS plugin (Ghostscript).
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP")  # JPEG covers MPO (multi-picture JPEG)
# 8192 x 8192 is far above any training resolution and well below what a laptop can decode.
MAX_PIXELS = 8192 * 8192
REPEAT_FOLDER = re.compile(r"^(\d+)_(.+)$")
_TAG_SEPARATORS = re.compile(r"[,\r\n]")
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


@dataclass
class ImageItem:
    path: Path                 # the image file
    caption_path: Path | None  # the .txt/.caption used, if any
    tags: list[str]            # caption tags, trigger word first, stripped, empty tags removed
    repeats: int
    width: int                 # size after EXIF transpose
    height: int
    bucket: tuple[int, int]    # (width, height) in pixels the image is trained at


@dataclass
class ScanResult:
    items: list[ImageItem]
    warnings: list[Text] = field(default_factory=list)  # one readable line per skipped/odd file, naming it

    @property
    def num_images(self) -> int:
        return len(self.items)

    @property
    def num_samples(self) -> int:
        return sum(item.repeats for item in self.items)


# ---------------------------------------------------------------- tags and captions


def parse_tags(text: str) -> list[str]:
    """Split a caption on commas and line breaks: "a, b,,  c " -> ["a", "b", "c"] (inner spaces collapsed)."""
    tags = (" ".join(part.split()) for part in _TAG_SEPARATORS.split(text))
    return [tag for tag in tags if tag]


def with_trigger(tags: list[str], trigger_word: str) -> list[str]:
    """Put the trigger word first, removing it from wherever else the caption had it."""
    trigger = parse_tags(trigger_word)
    return trigger + [tag for tag in tags if tag not in trigger]


def build_caption(tags: list[str], cfg: DatasetConfig, rng: random.Random) -> str:
    """One training caption: maybe dropped whole, else the first keep_tokens tags then the others shuffled/dropped."""
    if cfg.caption_dropout > 0 and rng.random() < cfg.caption_dropout:
        return ""
    kept, rest = list(tags[: cfg.keep_tokens]), list(tags[cfg.keep_tokens:])
    if cfg.shuffle_tags:
        rng.shuffle(rest)
    if cfg.tag_dropout > 0:
        rest = [tag for tag in rest if rng.random() >= cfg.tag_dropout]
    return ", ".join(kept + rest)


def caption_is_deterministic(cfg: DatasetConfig) -> bool:
    """True when an image always gets the same caption text, so its text embedding can be cached once.

    Caption dropout does not count: it only swaps in the empty caption, which a cache holds as one more entry.
    """
    return not cfg.shuffle_tags and cfg.tag_dropout == 0


def tag_frequency(items: list[ImageItem]) -> dict[str, int]:
    """How many images carry each tag, most frequent first (ties alphabetical)."""
    counts = Counter(tag for item in items for tag in dict.fromkeys(item.tags))
    return dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])))


# ---------------------------------------------------------------- loading images safely


class _Unusable(Exception):
    """A file we refuse for a reason of our own; the message is the whole reason."""


def _open_image(path: Path) -> Image.Image:
    """Open, check and fully decode one image (first frame of an animation), EXIF orientation applied."""
    if path.stat().st_size == 0:
        raise _Unusable("data.reason_empty")
    with warnings.catch_warnings():
        # PIL only warns between its own limit and twice that; any bomb must stop here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path, formats=ALLOWED_FORMATS) as probe:
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise Image.DecompressionBombError(f"{width}x{height} pixels is over the limit of {MAX_PIXELS}")
            probe.verify()  # PNG: checks every chunk's CRC, which load() skips for image data
        with Image.open(path, formats=ALLOWED_FORMATS) as image:
            image.load()
            return ImageOps.exif_transpose(image)


def _sixteen_bit_to_gray(image: Image.Image) -> Image.Image:
    """16-bit (or 32-bit int / float) grayscale to 8-bit; PIL's own convert would clip everything above 255."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode.startswith("I;16") or (image.mode == "I" and values.max(initial=0) > 255):
        values = values / 257.0
    elif image.mode == "F" and values.max(initial=0) <= 1.0:
        values = values * 255.0
    return Image.fromarray(np.clip(values, 0, 255).round().astype(np.uint8), "L")


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB; transparent pixels become white (a black fill would teach dark outlines)."""
    if image.mode in _SIXTEEN_BIT_MODES:
        image = _sixteen_bit_to_gray(image)
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _describe(error: Exception) -> Text:
    """A reason a user can act on, for any exception PIL (or the file system) raised."""
    if isinstance(error, _Unusable):
        return Text(error.args[0])
    if isinstance(error, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return Text("data.reason_bomb", detail=error)
    if isinstance(error, UnidentifiedImageError):
        return Text("data.reason_unreadable")
    text = str(error) or type(error).__name__
    if "truncated" in text:
        return Text("data.reason_truncated", detail=text)
    return Text("data.reason_undecodable", kind=type(error).__name__, detail=text)


def load_image(path: Path) -> Image.Image:
    """The image as 8-bit RGB with EXIF orientation applied; DatasetError naming the file if it is unusable."""
    path = Path(path)
    try:
        return _to_rgb(_open_image(path))
    except Exception as error:  # PIL raises many types (OSError, SyntaxError, struct.error, ...)
        raise DatasetError("data.bad_image", path=path, reason=_describe(error)) from error


# ---------------------------------------------------------------- buckets


def bucket_sizes(resolution: int, step: int) -> list[tuple[int, int]]:
    """kohya-style (width, height) buckets: sides multiples of `step`, area about resolution^2,
    sides between resolution/2 and 2*resolution."""
    max_area = resolution * resolution
    min_side = max(step, (resolution // 2) // step * step)
    max_side = max(step, (resolution * 2) // step * step)
    square = max(step, resolution // step * step)
    sizes = {(square, square)}
    for width in range(min_side, max_side + 1, step):
        height = min(max_side, (max_area // width) // step * step)
        if height >= min_side:
            sizes.update({(width, height), (height, width)})
    return sorted(sizes)


def choose_bucket(width: int, height: int, cfg: DatasetConfig) -> tuple[int, int]:
    """The (width, height) an image of this size trains at.

    Images with at least resolution^2 pixels take the bucket with the nearest aspect ratio; smaller images are
    never upscaled: their own size rounded down to bucket_step multiples (kohya's bucket_no_upscale).
    """
    step = cfg.bucket_step
    if not cfg.buckets:
        return cfg.resolution, cfg.resolution
    if width * height < cfg.resolution * cfg.resolution:
        return max(step, width // step * step), max(step, height // step * step)
    aspect = width / height
    return min(bucket_sizes(cfg.resolution, step), key=lambda size: (abs(size[0] / size[1] - aspect), size))


# ---------------------------------------------------------------- scanning a folder


def _display_name(path: Path, root: Path) -> str:
    """The path inside the dataset, printable even when the file name is not valid UTF-8."""
    name = path.relative_to(root).as_posix()
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _image_files(root: Path, default_repeats: int, notes: list[str]) -> list[tuple[Path, int]]:
    """(image, repeats) for the images in `root` and in its `N_name` folders; odd entries noted."""
    found: list[tuple[Path, int]] = []

    def add_images(folder: Path, repeats: int) -> None:
        for path in sorted(folder.iterdir()):
            suffix = path.suffix.lower()
            if path.name.startswith(".") or not path.is_file():
                continue
            if suffix in IMAGE_EXTENSIONS:
                found.append((path, repeats))
            elif suffix in UNSUPPORTED_IMAGE_EXTENSIONS:
                notes.append(Text("data.ignored_type", name=_display_name(path, root), suffix=suffix))

    add_images(root, default_repeats)
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        match = REPEAT_FOLDER.match(folder.name)
        repeats = int(match.group(1)) if match else 0
        if repeats >= 1:
            add_images(folder, repeats)
        elif any(p.suffix.lower() in IMAGE_EXTENSIONS for p in folder.iterdir()):
            notes.append(Text("data.ignored_folder", folder=folder.name,
                              like=f"10_{match.group(2) if match else folder.name}"))
    return found


def _read_caption(image_path: Path, root: Path, notes: list[str]) -> tuple[Path | None, list[str]]:
    name = _display_name(image_path, root)
    for suffix in CAPTION_EXTENSIONS:
        caption_path = image_path.with_suffix(suffix)
        if caption_path.is_file():
            break
    else:
        notes.append(Text("data.no_caption", name=name, expected=image_path.with_suffix(".txt").name))
        return None, []
    try:
        raw = caption_path.read_bytes()
    except OSError as error:
        notes.append(Text("data.caption_unreadable", caption=_display_name(caption_path, root), detail=error, name=name))
        return None, []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        notes.append(Text("data.caption_not_utf8", caption=_display_name(caption_path, root)))
    tags = parse_tags(text)
    if not tags:
        notes.append(Text("data.caption_empty", caption=_display_name(caption_path, root), name=name))
    return caption_path, tags


def scan_dataset(cfg: DatasetConfig) -> ScanResult:
    """Find, validate and describe every usable image; bad files are skipped with a warning naming them."""
    root = Path(cfg.path)
    if not root.is_dir():
        raise DatasetError("data.folder_missing", path=root)
    notes: list[str] = []
    items: list[ImageItem] = []
    try:
        files = _image_files(root, cfg.repeats, notes)
    except OSError as error:
        raise DatasetError("data.folder_unlistable", path=root, detail=error) from error
    for path, repeats in files:
        name = _display_name(path, root)
        try:
            image = _to_rgb(_open_image(path))
            width, height = image.size
            reason = None if min(width, height) >= cfg.bucket_step else (
                Text("data.reason_too_small", width=width, height=height, step=cfg.bucket_step))
        except Exception as error:  # any decoder failure is this file's problem, never the scan's
            reason = _describe(error)
        if reason is not None:
            if cfg.strict:
                raise DatasetError("data.strict_bad_image", path=root, name=name, reason=reason)
            notes.append(Text("data.skipped", name=name, reason=reason))
            continue
        caption_path, tags = _read_caption(path, root, notes)
        items.append(ImageItem(path=path, caption_path=caption_path, tags=with_trigger(tags, cfg.trigger_word),
                               repeats=repeats, width=width, height=height,
                               bucket=choose_bucket(width, height, cfg)))
    if not items:
        exts = ", ".join(e[1:] for e in IMAGE_EXTENSIONS)
        if notes:
            raise DatasetError("data.no_images_why", path=root, exts=exts, details=notes[:3],
                               more=" ..." if len(notes) > 3 else "")
        raise DatasetError("data.no_images", path=root, exts=exts)
    return ScanResult(items=items, warnings=notes)


# ---------------------------------------------------------------- batches and tensors


def _cover_and_crop(image_size: tuple[int, int], bucket: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """The size the image is resized to so it covers the bucket (aspect kept), and the centre crop's (left, top)."""
    (width, height), (bucket_width, bucket_height) = image_size, bucket
    scale = max(bucket_width / width, bucket_height / height)
    size = (max(bucket_width, round(width * scale)), max(bucket_height, round(height * scale)))
    return size, ((size[0] - bucket_width) // 2, (size[1] - bucket_height) // 2)


def size_conditioning(item: ImageItem, flipped: bool = False) -> tuple[int, int, int, int, int, int]:
    """SDXL's six size numbers for a picture as trained: original (height, width), the crop's (top, left) in the
    resized picture, and the target (bucket) (height, width), as kohya's sdxl_train computes them."""
    size, (left, top) = _cover_and_crop((item.width, item.height), item.bucket)
    if flipped:  # the mirrored picture's crop starts where the original's ended
        left = size[0] - item.bucket[0] - left
    return item.height, item.width, top, left, item.bucket[1], item.bucket[0]


def image_to_tensor(image: Image.Image, bucket: tuple[int, int], flip: bool = False) -> torch.Tensor:
    """Resize so the image covers the bucket (aspect kept), center crop, flip; float32 in [-1, 1], [3, H, W]."""
    bucket_width, bucket_height = bucket
    image = image if image.mode == "RGB" else _to_rgb(image)
    size, (left, top) = _cover_and_crop(image.size, bucket)
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    image = image.crop((left, top, left + bucket_width, top + bucket_height))
    if flip:
        image = ImageOps.mirror(image)
    pixels = torch.from_numpy(np.array(image, dtype=np.uint8))
    return pixels.permute(2, 0, 1).float().div(127.5).sub(1.0).contiguous()


def _epoch_seed(seed: int, epoch: int) -> int:
    # hashlib, not hash(): the same on every machine and Python version, so a resumed run sees the same order.
    return int.from_bytes(hashlib.sha256(f"lora-studio:{seed}:{epoch}".encode()).digest()[:8], "big")


def plan_epoch(items: list[ImageItem], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Batches of indices into `items` for one epoch: repeats expanded, one bucket per batch, seeded order."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    rng = random.Random(_epoch_seed(seed, epoch))
    per_bucket: dict[tuple[int, int], list[int]] = {}
    for index, item in enumerate(items):
        per_bucket.setdefault(item.bucket, []).extend([index] * item.repeats)
    batches: list[list[int]] = []
    for bucket in sorted(per_bucket):
        samples = per_bucket[bucket]
        rng.shuffle(samples)
        batches.extend(samples[start:start + batch_size] for start in range(0, len(samples), batch_size))
    rng.shuffle(batches)
    return batches


def dataset_fingerprint(item: ImageItem) -> str:
    """sha256 over the image bytes, the caption as trained (trigger word included) and the bucket."""
    digest = hashlib.sha256(f"lora-studio-item-v1\0{item.path.stat().st_size}\0".encode())
    with open(item.path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    digest.update(b"\0" + ", ".join(item.tags).encode("utf-8", "surrogatepass"))
    digest.update(f"\0{item.bucket[0]}x{item.bucket[1]}".encode())
    return digest.hexdigest()
