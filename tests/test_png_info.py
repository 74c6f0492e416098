"""Every picture lora-studio writes carries AUTOMATIC1111's parameters text, written by one function."""

from __future__ import annotations

from PIL import Image

from lora_studio.png_info import png_bytes, save_png


def test_one_function_writes_the_png_and_its_parameters(tmp_path):
    image = Image.new("RGB", (8, 8), (200, 10, 10))
    path = save_png(image, "a cat\nSteps: 1, Seed: 5", tmp_path, 5)
    assert path.name == "00000-5.png" and path.read_bytes() == png_bytes(image, "a cat\nSteps: 1, Seed: 5")
    assert Image.open(path).text == {"parameters": "a cat\nSteps: 1, Seed: 5"}
