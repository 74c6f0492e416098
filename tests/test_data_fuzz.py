"""The dataset stage under random input (hypothesis): tags always parse to clean tags, and a folder of random,
truncated or damaged files is either refused with a DatasetError or gives only images that load."""

from __future__ import annotations

import io
import string
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from lora_studio.config import DatasetConfig
from lora_studio.data import image_to_tensor, load_image, parse_tags, scan_dataset
from lora_studio.errors import DatasetError


def _cfg(folder: Path, **overrides) -> DatasetConfig:
    return DatasetConfig(**{**dict(path=str(folder), trigger_word="mychar", resolution=64, bucket_step=32),
                            **overrides})


@given(st.text())
def test_parse_tags_fuzz(text):
    tags = parse_tags(text)
    assert all(tag and tag == tag.strip() and "," not in tag and "\n" not in tag for tag in tags)
    assert parse_tags(", ".join(tags)) == tags


_IMAGE_MODES = {".png": ["RGB", "RGBA", "L", "LA", "P", "I;16"], ".jpg": ["RGB", "L", "CMYK"], ".jpeg": ["RGB"],
                ".webp": ["RGB", "RGBA"], ".bmp": ["RGB", "L", "P"], ".gif": ["P"]}
_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".gif": "GIF"}


@st.composite
def _dataset_file(draw):
    stem = draw(st.text(string.ascii_letters + string.digits + "_- ", min_size=1, max_size=10))
    ext = draw(st.sampled_from(sorted(_IMAGE_MODES)))
    kind = draw(st.sampled_from(["random bytes", "image", "image", "image", "truncated image", "damaged image"]))
    if kind == "random bytes":
        content = draw(st.binary(max_size=300))
    else:
        size = (draw(st.integers(4, 48)), draw(st.integers(4, 48)))
        image = Image.new(draw(st.sampled_from(_IMAGE_MODES[ext])), size, draw(st.integers(0, 255)))
        buffer = io.BytesIO()
        image.save(buffer, format=_FORMATS[ext])
        content = buffer.getvalue()
        if kind == "truncated image":
            content = content[: draw(st.integers(0, len(content) - 1))]
        elif kind == "damaged image":
            damaged = bytearray(content)
            for position in draw(st.lists(st.integers(0, len(content) - 1), min_size=1, max_size=4)):
                damaged[position] = draw(st.integers(0, 255))
            content = bytes(damaged)
    caption = draw(st.none() | st.text(max_size=40))
    return stem + ext, content, caption


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_dataset_file(), max_size=6, unique_by=lambda f: f[0]), st.sampled_from([False, False, True]))
def test_scan_fuzz_raises_only_dataset_errors_and_keeps_only_loadable_images(files, strict):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, content, caption in files:
            (folder / name).write_bytes(content)
            if caption is not None:
                (folder / name).with_suffix(".txt").write_text(caption, encoding="utf-8")
        try:
            result = scan_dataset(_cfg(folder, bucket_step=8, strict=strict))
        except DatasetError:
            event("scan refused the folder")
            return
        event("scan kept images")
        for item in result.items:
            image = load_image(item.path)
            assert image.mode == "RGB" and image.size == (item.width, item.height)
            assert min(item.bucket) >= 8 and item.bucket[0] % 8 == 0 and item.bucket[1] % 8 == 0
            assert item.tags[0] == "mychar" and all(item.tags)
            assert image_to_tensor(image, item.bucket).shape == (3, item.bucket[1], item.bucket[0])
