"""The dataset stage: every bad file is named and skipped, captions, buckets and batch plans behave."""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lora_studio import data
from lora_studio.config import DatasetConfig
from lora_studio.data import (
    ImageItem,
    bucket_sizes,
    build_caption,
    caption_is_deterministic,
    choose_bucket,
    dataset_fingerprint,
    image_to_tensor,
    load_image,
    plan_epoch,
    scan_dataset,
    tag_frequency,
)
from lora_studio.errors import DatasetError


def _cfg(folder: Path, **overrides) -> DatasetConfig:
    values = dict(path=str(folder), trigger_word="mychar", resolution=64, bucket_step=32)
    values.update(overrides)
    return DatasetConfig(**values)


def _save(image: Image.Image, path: Path, **params) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **params)
    return path


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _declared_size_png(width: int, height: int) -> bytes:
    """A few bytes that claim to be a huge RGB PNG: a decompression bomb that costs nothing to make."""
    header = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b"")


def _good_dataset(folder: Path) -> Path:
    _save(Image.new("RGB", (64, 64), (200, 40, 40)), folder / "good.png")
    (folder / "good.txt").write_text("1girl, green hair", encoding="utf-8")
    return folder


# ---------------------------------------------------------------- bad files: named, skipped, or strict errors


def _truncated_jpeg(path: Path) -> None:
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 96, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    noise.save(buffer, format="JPEG", quality=95)
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


def _broken_crc_png(path: Path) -> None:
    raw = bytearray(_png_bytes(Image.new("RGB", (64, 64), (10, 200, 30))))
    idat = raw.find(b"IDAT")
    (length,) = struct.unpack(">I", raw[idat - 4: idat])
    raw[idat + 4 + length] ^= 0xFF  # first byte of the IDAT checksum; the pixel data itself still decodes
    path.write_bytes(bytes(raw))


BAD_FILES = {
    "truncated.jpg": _truncated_jpeg,
    "empty.png": lambda p: p.write_bytes(b""),
    "notes.png": lambda p: p.write_text("this is a text file, not a picture\n", encoding="utf-8"),
    "badcrc.png": _broken_crc_png,
    "bomb.png": lambda p: p.write_bytes(_declared_size_png(30000, 30000)),  # over PIL's own limit
    "big.png": lambda p: p.write_bytes(_declared_size_png(9000, 9000)),  # under PIL's, over data.MAX_PIXELS
    "dot.png": lambda p: _save(Image.new("RGB", (1, 1)), p),
    "thin.webp": lambda p: _save(Image.new("RGB", (200, 16), (0, 0, 255)), p),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_skipped_with_a_warning_naming_it(tmp_path, name):
    folder = _good_dataset(tmp_path / "ds")
    BAD_FILES[name](folder / name)
    result = scan_dataset(_cfg(folder))
    assert [item.path.name for item in result.items] == ["good.png"]
    skipped = [line for line in result.warnings if name in line]
    assert len(skipped) == 1 and skipped[0].startswith(f"skipped '{name}'")


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_in_strict_mode_is_an_error_naming_it(tmp_path, name):
    folder = _good_dataset(tmp_path / "ds")
    BAD_FILES[name](folder / name)
    with pytest.raises(DatasetError, match=name.replace(".", r"\.")):
        scan_dataset(_cfg(folder, strict=True))


def test_bomb_and_small_images_get_reasons_a_user_understands(tmp_path):
    folder = _good_dataset(tmp_path / "ds")
    for name in ("bomb.png", "big.png", "dot.png", "notes.png", "empty.png", "truncated.jpg"):
        BAD_FILES[name](folder / name)
    lines = {line.split("'")[1]: line for line in scan_dataset(_cfg(folder)).warnings}
    assert "decompression bomb" in lines["bomb.png"] and "decompression bomb" in lines["big.png"]
    assert "too small" in lines["dot.png"] and "1x1" in lines["dot.png"]
    assert "not a readable" in lines["notes.png"]
    assert "0 bytes" in lines["empty.png"]
    assert "truncated" in lines["truncated.jpg"]


def test_load_image_names_the_bad_file(tmp_path):
    path = tmp_path / "broken.jpg"
    _truncated_jpeg(path)
    with pytest.raises(DatasetError, match="broken.jpg"):
        load_image(path)


# ---------------------------------------------------------------- odd but usable files: converted and kept


def _sixteen_bit_png(path: Path) -> None:
    _save(Image.fromarray(np.full((64, 64), 128 * 257, dtype=np.uint16)), path)  # mid grey in 16 bits


def _palette_png(path: Path) -> None:
    image = Image.new("P", (64, 64), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 64, 32))  # top half red, bottom half palette index 0 = transparent
    _save(image, path, transparency=0)


def _animated(path: Path) -> None:
    first, second = Image.new("RGB", (64, 64), (255, 0, 0)), Image.new("RGB", (64, 64), (0, 0, 255))
    _save(first, path, save_all=True, append_images=[second], duration=100, loop=0)


def _exif_rotated_jpeg(path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    _save(Image.new("RGB", (96, 64), (0, 128, 0)), path, exif=exif)


# name -> (make the file, expected (width, height) after EXIF, expected RGB of pixel (0, height - 1))
ODD_FILES = {
    "deep.png": (_sixteen_bit_png, (64, 64), (128, 128, 128)),
    "print.jpg": (lambda p: _save(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), p), (64, 64), (255, 0, 0)),
    "alpha.png": (lambda p: _save(Image.new("RGBA", (64, 64), (255, 0, 0, 0)), p), (64, 64), (255, 255, 255)),
    "gray_alpha.png": (lambda p: _save(Image.new("LA", (64, 64), (0, 0)), p), (64, 64), (255, 255, 255)),
    "palette.png": (_palette_png, (64, 64), (255, 255, 255)),
    "moving.webp": (_animated, (64, 64), (255, 0, 0)),
    "moving.png": (_animated, (64, 64), (255, 0, 0)),
    "rotated.jpg": (_exif_rotated_jpeg, (64, 96), (0, 128, 0)),
    "scan.bmp": (lambda p: _save(Image.new("L", (64, 64), 200), p), (64, 64), (200, 200, 200)),
}


@pytest.mark.parametrize("name", sorted(ODD_FILES))
def test_odd_image_modes_are_kept_as_rgb(tmp_path, name):
    make, size, corner = ODD_FILES[name]
    make(tmp_path / name)
    result = scan_dataset(_cfg(tmp_path, strict=True))
    (item,) = result.items
    assert (item.width, item.height) == size
    image = load_image(item.path)
    assert image.mode == "RGB" and image.size == size
    assert np.abs(np.array(image.getpixel((0, size[1] - 1))) - corner).max() <= 3
    assert not [line for line in result.warnings if line.startswith("skipped")]


def test_palette_png_keeps_its_opaque_pixels(tmp_path):
    _palette_png(tmp_path / "palette.png")
    assert load_image(tmp_path / "palette.png").getpixel((0, 0)) == (255, 0, 0)


def test_animated_gif_is_ignored_with_a_warning(tmp_path):
    # GIF is not a training format here (usually an animation): it is named in a warning, never trained.
    folder = _good_dataset(tmp_path / "ds")
    _animated(folder / "wave.gif")
    result = scan_dataset(_cfg(folder, strict=True))
    assert [item.path.name for item in result.items] == ["good.png"]
    assert any("wave.gif" in line and "ignored" in line for line in result.warnings)


# ---------------------------------------------------------------- folders and captions


def test_missing_folder_names_the_key_and_folder(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetError, match="dataset.path") as error:
        scan_dataset(_cfg(missing))
    assert str(missing) in str(error.value)


def test_empty_folder_and_folder_of_bad_files_are_errors(tmp_path):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DatasetError, match="no usable images") as error:
        scan_dataset(_cfg(tmp_path / "nothing"))
    assert str(tmp_path / "nothing") in str(error.value)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"")
    with pytest.raises(DatasetError, match="x.png") as error:
        scan_dataset(_cfg(tmp_path / "bad"))
    assert str(tmp_path / "bad") in str(error.value)


def test_missing_caption_trains_with_the_trigger_word_only(tmp_path):
    _save(Image.new("RGB", (64, 64)), tmp_path / "alone.png")
    result = scan_dataset(_cfg(tmp_path))
    assert result.items[0].tags == ["mychar"] and result.items[0].caption_path is None
    assert any("alone.png" in line and "trigger word only" in line for line in result.warnings)


def test_caption_files_trigger_word_first_and_not_repeated(tmp_path):
    _save(Image.new("RGB", (64, 64)), tmp_path / "a.png")
    (tmp_path / "a.txt").write_text("\ufeff1girl,  mychar ,green   hair,,\nsmile\n", encoding="utf-8")
    _save(Image.new("RGB", (64, 64)), tmp_path / "b.jpg")
    (tmp_path / "b.caption").write_text("solo", encoding="utf-8")
    items = {item.path.name: item for item in scan_dataset(_cfg(tmp_path)).items}
    assert items["a.png"].tags == ["mychar", "1girl", "green hair", "smile"]
    assert items["b.jpg"].tags == ["mychar", "solo"] and items["b.jpg"].caption_path.name == "b.caption"


def test_repeat_folders_give_repeats(tmp_path):
    for relative in ("top.png", "10_mychar/a.png", "10_mychar/b.png", "3_outfit/c.png", "0_off/d.png", "misc/e.png"):
        _save(Image.new("RGB", (64, 64)), tmp_path / relative)
    result = scan_dataset(_cfg(tmp_path, repeats=2))
    repeats = {item.path.name: item.repeats for item in result.items}
    assert repeats == {"top.png": 2, "a.png": 10, "b.png": 10, "c.png": 3}
    assert result.num_images == 4 and result.num_samples == 25
    assert any("'0_off'" in line for line in result.warnings) and any("'misc'" in line for line in result.warnings)


# ---------------------------------------------------------------- buckets


def test_bucket_list_is_kohya_like():
    sizes = bucket_sizes(512, 64)
    assert (512, 512) in sizes and (768, 320) in sizes and (320, 768) in sizes
    assert all(w % 64 == 0 and h % 64 == 0 for w, h in sizes)
    assert all(256 <= side <= 1024 for size in sizes for side in size)
    assert all(w * h <= 512 * 512 and w * h >= 0.75 * 512 * 512 for w, h in sizes)
    assert sorted((h, w) for w, h in sizes) == sizes


def test_bucket_follows_aspect_ratio_and_never_upscales_small_images():
    cfg = DatasetConfig(resolution=512, bucket_step=64)
    wide = choose_bucket(1600, 900, cfg)
    assert wide[0] > wide[1] and wide[0] % 64 == 0 and wide[1] % 64 == 0
    tall = choose_bucket(900, 1600, cfg)
    assert tall == wide[::-1]
    assert choose_bucket(1000, 1000, cfg) == (512, 512)
    assert choose_bucket(300, 200, cfg) == (256, 192)  # small: own size rounded down, never upscaled
    assert choose_bucket(300, 200, DatasetConfig(resolution=512, buckets=False)) == (512, 512)


def test_scan_puts_a_non_square_image_into_a_non_square_bucket(tmp_path):
    _save(Image.new("RGB", (192, 96)), tmp_path / "wide.png")
    _save(Image.new("RGB", (96, 96)), tmp_path / "square.png")
    items = {item.path.name: item for item in scan_dataset(_cfg(tmp_path, bucket_step=16)).items}
    width, height = items["wide.png"].bucket
    assert width > height
    assert items["square.png"].bucket == (64, 64)


# ---------------------------------------------------------------- captions


def test_keep_tokens_stay_in_place_while_the_rest_shuffles():
    tags = ["mychar", "1girl", "a", "b", "c", "d", "e"]
    cfg = DatasetConfig(keep_tokens=2, caption_dropout=0.0)
    rng = random.Random(0)
    captions = [build_caption(tags, cfg, rng).split(", ") for _ in range(300)]
    assert all(caption[:2] == ["mychar", "1girl"] and sorted(caption[2:]) == tags[2:] for caption in captions)
    assert len({tuple(caption) for caption in captions}) > 50


def test_caption_and_tag_dropout_rates():
    tags = ["mychar"] + [f"tag{i}" for i in range(10)]
    rng = random.Random(1)
    captions = [build_caption(tags, DatasetConfig(caption_dropout=0.2), rng) for _ in range(4000)]
    assert 0.17 < captions.count("") / len(captions) < 0.23
    cfg = DatasetConfig(caption_dropout=0.0, tag_dropout=0.3)
    kept = [build_caption(tags, cfg, rng).split(", ") for _ in range(2000)]
    assert all(caption[0] == "mychar" for caption in kept)
    assert 0.67 < np.mean([len(caption) - 1 for caption in kept]) / 10 < 0.73


def test_caption_without_shuffle_or_dropout_is_the_tags_in_order():
    cfg = DatasetConfig(shuffle_tags=False, caption_dropout=0.0)
    assert caption_is_deterministic(cfg)
    assert build_caption(["mychar", "b", "a"], cfg, random.Random(0)) == "mychar, b, a"
    assert not caption_is_deterministic(DatasetConfig())
    assert not caption_is_deterministic(DatasetConfig(shuffle_tags=False, tag_dropout=0.1))


def test_tag_frequency_counts_images_most_frequent_first():
    items = [ImageItem(Path(f"{i}.png"), None, tags, 5, 64, 64, (64, 64))
             for i, tags in enumerate([["m", "b", "a"], ["m", "a"], ["m", "c", "c"]])]
    assert list(tag_frequency(items).items()) == [("m", 3), ("a", 2), ("b", 1), ("c", 1)]


# ---------------------------------------------------------------- epochs, tensors, fingerprints


def _items(buckets: list[tuple[int, int]], repeats: int = 1) -> list[ImageItem]:
    return [ImageItem(Path(f"{i}.png"), None, ["m"], repeats, *bucket, bucket) for i, bucket in enumerate(buckets)]


def test_plan_epoch_batches_one_bucket_each_and_expands_repeats():
    items = _items([(64, 64)] * 5 + [(96, 32)] * 3, repeats=3)
    plan = plan_epoch(items, batch_size=4, seed=7, epoch=0)
    assert all(len({items[i].bucket for i in batch}) == 1 for batch in plan)
    assert Counter(i for batch in plan for i in batch) == {i: 3 for i in range(8)}
    assert sorted(len(batch) for batch in plan) == [1, 3, 4, 4, 4, 4, 4]  # 15 and 9 samples: partial batches kept


def test_plan_epoch_is_the_same_for_the_same_seed_and_epoch_only():
    items = _items([(64, 64)] * 12 + [(96, 32)] * 8, repeats=2)
    assert plan_epoch(items, 2, seed=3, epoch=4) == plan_epoch(items, 2, seed=3, epoch=4)
    assert plan_epoch(items, 2, seed=3, epoch=4) != plan_epoch(items, 2, seed=3, epoch=5)
    assert plan_epoch(items, 2, seed=3, epoch=4) != plan_epoch(items, 2, seed=4, epoch=4)


def test_image_to_tensor_covers_the_bucket_center_crops_and_flips():
    image = Image.new("RGB", (200, 100), (255, 255, 255))
    image.paste((255, 0, 0), (50, 0, 100, 100))  # red in the middle-left quarter, white elsewhere
    tensor = image_to_tensor(image, (64, 64))
    assert tensor.shape == (3, 64, 64) and tensor.dtype == torch.float32
    assert tensor.min() >= -1.0 and tensor.max() <= 1.0
    assert tensor[1, 32, 2] < -0.9 and tensor[1, 32, 61] > 0.9  # cropped to the middle: red left, white right
    flipped = image_to_tensor(image, (64, 64), flip=True)
    assert torch.equal(flipped, tensor.flip(-1))
    assert image_to_tensor(image, (96, 32)).shape == (3, 32, 96)


def test_fingerprint_changes_with_image_caption_or_bucket(tmp_path):
    path = _save(Image.new("RGB", (64, 64), (1, 2, 3)), tmp_path / "a.png")
    item = ImageItem(path, None, ["mychar", "smile"], 1, 64, 64, (64, 64))
    same = dataset_fingerprint(item)
    assert dataset_fingerprint(ImageItem(path, None, ["mychar", "smile"], 4, 64, 64, (64, 64))) == same
    assert dataset_fingerprint(ImageItem(path, None, ["mychar", "frown"], 1, 64, 64, (64, 64))) != same
    assert dataset_fingerprint(ImageItem(path, None, ["mychar", "smile"], 1, 64, 64, (32, 64))) != same
    _save(Image.new("RGB", (64, 64), (1, 2, 4)), path)
    assert dataset_fingerprint(item) != same


def test_max_pixels_is_a_module_setting(tmp_path, monkeypatch):
    _save(Image.new("RGB", (64, 64)), tmp_path / "ok.png")
    monkeypatch.setattr(data, "MAX_PIXELS", 64 * 63)
    with pytest.raises(DatasetError, match="ok.png"):
        load_image(tmp_path / "ok.png")
