"""The comparison as one labelled picture (compare/grid.png): a header per column (prompt, strength, seed), a label
per row (epoch, step), each picture's scores under it, the suggested adapter at its strength framed."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

MAX_CELL = 256  # pictures are shown at most this many pixels a side, so a 10 x 9 grid stays a few MB
LABEL_W = 190
LINE = 17
PAD = 6
SUGGESTED = (230, 120, 0)


def _font(size: int = 14):
    try:
        return ImageFont.load_default(size=size)  # Pillow's scalable built-in font (needs FreeType)
    except (TypeError, OSError, ImportError):
        return ImageFont.load_default()


def _lines(text: str, width_px: int, max_lines: int) -> list[str]:
    lines = textwrap.wrap(text, width=max(8, width_px // 7)) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(0, len(lines[-1]) - 1)] + "…"
    return lines


def draw_grid(plan_, grid: list[list[Path]], scores: dict) -> bytes:
    """PNG bytes of the labelled grid."""
    with Image.open(grid[0][0]) as first:
        w, h = first.size
    scale = min(1.0, MAX_CELL / max(w, h))
    cell_w, cell_h = max(96, int(w * scale)), max(96, int(h * scale))
    header_h = LINE * 5 + PAD * 2
    row_h = cell_h + LINE * 2 + PAD * 2  # two lines of scores under each picture
    width = LABEL_W + len(plan_.columns) * (cell_w + PAD) + PAD
    footer = _footer(scores, width)
    height = header_h + len(plan_.rows) * row_h + LINE * (len(footer) + 1)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    font, small = _font(14), _font(12)
    chosen = scores.get("suggestion") or {}
    for c, column in enumerate(plan_.columns):
        x = LABEL_W + c * (cell_w + PAD)
        text = _lines(column.prompt, cell_w, 3) + [f"strength {column.strength:g}", f"seed {column.seed}"]
        for i, line in enumerate(text):
            draw.text((x, PAD + i * LINE), line, fill="black", font=small if i < len(text) - 2 else font)
    for r, row in enumerate(plan_.rows):
        y = header_h + r * row_h
        marked = chosen.get("row") == r
        label = _lines(row.label, LABEL_W - PAD, 3) + (["* suggested"] if marked else [])
        for i, line in enumerate(label):
            draw.text((PAD, y + PAD + i * LINE), line, fill=SUGGESTED if marked and i == len(label) - 1 else "black",
                      font=font)
        for c, path in enumerate(grid[r]):
            x = LABEL_W + c * (cell_w + PAD)
            with Image.open(path) as im:
                canvas.paste(im.convert("RGB").resize((cell_w, cell_h)), (x, y))
            cell = scores["rows"][r]["cells"][c]
            draw.text((x, y + cell_h + 2), f"DINO {cell['dino']:.3f}", fill="black", font=small)
            draw.text((x, y + cell_h + 2 + LINE), f"CLIP-T {cell['clip_t']:.3f}", fill="black", font=small)
            if marked and plan_.columns[c].strength == chosen.get("strength"):
                draw.rectangle((x - 3, y - 3, x + cell_w + 2, y + cell_h + 2), outline=SUGGESTED, width=3)
    for i, line in enumerate(footer):
        draw.text((PAD, height - LINE * (len(footer) - i) - PAD), line, fill="black", font=small)
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()


def _footer(scores: dict, width_px: int) -> list[str]:
    from .scores import TINY_SCORER_NOTE

    text = [scores["suggestion"]["line"]] if scores.get("suggestion") else []
    text += [TINY_SCORER_NOTE] if scores.get("meaningless") else []
    return [line for part in text for line in textwrap.wrap(part, max(20, width_px // 7))]
