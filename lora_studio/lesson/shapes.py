"""A drawn two-class dataset for offline runs: 'circles' vs 'stripes', colours and positions varying.

Same `split/class/*.png` layout as cats_and_dogs_filtered, so the lesson runs end to end without the network.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from PIL import Image, ImageDraw

from ..atomic import atomic_dir

CLASSES = ("circles", "stripes")


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return tuple(rng.randrange(256) for _ in range(3))


def _contrasting(rng: random.Random, background: tuple[int, int, int]) -> tuple[int, int, int]:
    """A random colour that differs clearly from the background, so the shape is always visible."""
    while True:
        colour = _colour(rng)
        if sum(abs(a - b) for a, b in zip(colour, background, strict=True)) > 200:
            return colour


def draw_circles(rng: random.Random, size: int) -> Image.Image:
    background = _colour(rng)
    img = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(1, 3)):
        r = rng.uniform(0.12, 0.3) * size
        x, y = rng.uniform(r, size - r), rng.uniform(r, size - r)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=_contrasting(rng, background))
    return img


def draw_stripes(rng: random.Random, size: int) -> Image.Image:
    background = _colour(rng)
    img = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(img)
    colour = _contrasting(rng, background)
    angle = rng.uniform(0, math.pi)
    period = rng.uniform(0.15, 0.3) * size
    dx, dy = math.cos(angle), math.sin(angle)  # stripe direction
    nx, ny = -dy, dx  # across the stripes
    c = size / 2
    for k in range(-6, 7):
        ox, oy = c + nx * k * period, c + ny * k * period
        w = period / 4
        corners = [(ox + dx * s * size + nx * t * w, oy + dy * s * size + ny * t * w) for s, t in
                   ((-1, -1), (1, -1), (1, 1), (-1, 1))]
        draw.polygon(corners, fill=colour)
    return img


def make_shapes_dataset(folder: str | Path, per_class: int = 150, size: int = 64, seed: int = 0) -> Path:
    """Write train/ and validation/, `per_class` PNGs per class each, into `folder`, atomically."""
    folder = Path(folder)
    rng = random.Random(seed)
    drawers = {"circles": draw_circles, "stripes": draw_stripes}
    with atomic_dir(folder) as tmp:
        for split in ("train", "validation"):
            for name in CLASSES:
                out = tmp / split / name
                out.mkdir(parents=True)
                for i in range(per_class):
                    drawers[name](rng, size).save(out / f"{name}.{i:04d}.png")
    return folder
