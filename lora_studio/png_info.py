"""What a picture says about how it was made: AUTOMATIC1111's infotext (prompt, `<lora:...>` tags, sampler, seed,
size, model, Lora hashes) in the PNG's `parameters` text chunk, which A1111's PNG-info tab and Civitai read.
Generated pictures, training samples and comparison grids are all written through `png_bytes`."""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import write_bytes_atomic

if TYPE_CHECKING:
    from .generate import GenerateConfig

# config.SAMPLERS as AUTOMATIC1111 names them in its infotext.
A1111_SAMPLER_NAMES = {
    "euler_a": "Euler a", "euler": "Euler", "dpmpp_2m_karras": "DPM++ 2M Karras", "dpmpp_2m": "DPM++ 2M",
    "ddim": "DDIM", "ddpm": "DDPM", "pndm": "PLMS",
}


def _quote(value) -> str:
    """A1111's infotext quoting: values with ',', ':' or a newline become JSON strings."""
    text = str(value)
    if "," not in text and ":" not in text and "\n" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def model_name(base: str) -> str:
    path = Path(base)
    if path.suffix.lower() in (".safetensors", ".ckpt", ".pt", ".pth", ".bin"):
        return path.stem
    return path.name if path.is_dir() else base


def _lora_alias(path: Path) -> str:
    return path.stem.replace(":", "").replace(",", "")


def prompt_with_lora_tags(prompt: str, adapters: list[tuple[Path, float]]) -> str:
    """The prompt as an AUTOMATIC1111 user writes it: `<lora:name:strength>` for each applied adapter, so
    "PNG Info -> Send to txt2img" there brings the adapters and their strengths along."""
    tags = []
    for path, scale in adapters:
        if scale != 0:
            tags.append(f"<lora:{_lora_alias(path)}:{scale:g}>")
    return ", ".join([prompt, *tags]) if prompt and tags else prompt or " ".join(tags)


def lora_hashes(adapters: list[tuple[Path, float]]) -> str | None:
    """'name: hash, name: hash' of the applied adapters (names without ':' and ',', as A1111 writes them)."""
    parts = []
    for path, scale in adapters:
        if scale != 0:
            parts.append(f"{_lora_alias(path)}: {lora_short_hash(path)}")
    return ", ".join(parts) or None


def parameters_text(cfg: GenerateConfig, adapters: list[tuple[Path, float]], seed: int, width: int, height: int,
                    hashes: str | None) -> str:
    """AUTOMATIC1111's infotext: prompt, 'Negative prompt: ...' (only when set), then 'Key: value, ...'.
    `adapters`: (file, strength) of each LoRA in `cfg.loras`, parsed."""
    params = {
        "Steps": cfg.steps, "Sampler": A1111_SAMPLER_NAMES[cfg.sampler], "CFG scale": float(cfg.guidance_scale),
        "Seed": seed, "Size": f"{width}x{height}", "Model": model_name(cfg.base), "Lora hashes": hashes,
    }
    negative = f"\nNegative prompt: {cfg.negative_prompt}" if cfg.negative_prompt else ""
    line = ", ".join(f"{k}: {_quote(v)}" for k, v in params.items() if v is not None)
    return f"{prompt_with_lora_tags(cfg.prompt, adapters)}{negative}\n{line}"


def lora_short_hash(path: Path) -> str:
    """A1111's 'Lora hashes' value: sha256 of the safetensors data after the header, first 12 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        f.seek(8 + header_len)
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


_write_lock = threading.Lock()
_NUMBERED = re.compile(r"^(\d{5,})-")


def _next_number(folder: Path) -> int:
    numbers = [int(m.group(1)) for p in folder.glob("*.png") if (m := _NUMBERED.match(p.name))]
    return max(numbers, default=-1) + 1


def png_bytes(image, params: str) -> bytes:
    """`image` as PNG with A1111's `parameters` text chunk: every picture lora-studio writes goes through here."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("parameters", params)
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def save_png(image, params: str, folder: Path, seed: int) -> Path:
    """Write `NNNNN-<seed>.png` with the `parameters` text chunk; the number never reuses an existing file's."""
    data = png_bytes(image, params)
    folder.mkdir(parents=True, exist_ok=True)
    with _write_lock:
        path = folder / f"{_next_number(folder):05d}-{seed}.png"
        write_bytes_atomic(path, data)
    return path
