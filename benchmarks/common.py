"""What both benchmarks share: the models (SD1.5-shaped with random weights, or the baseline script's tiny
shapes), device setup, timing with a GPU sync, peak memory, and the markdown table."""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

import torch

# The UNet of ../shared/bench/baseline_diffusers_loop.py: SD1.5's shape (859.5 M parameters) or its --tiny one.
SD15_UNET = dict(sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
                 block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=768, attention_head_dim=8,
                 down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                 up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
TINY_UNET = dict(sample_size=8, block_out_channels=(32, 64), layers_per_block=2, cross_attention_dim=32,
                 attention_head_dim=8, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                 up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), in_channels=4, out_channels=4, norm_num_groups=32)


class Bench:
    """Device, dtype and model shapes of one benchmark run, and the time budget."""

    def __init__(self, tiny: bool, budget: float) -> None:
        self.started = time.time()
        self.budget = budget
        self.tiny = tiny
        self.cuda = torch.cuda.is_available()
        self.device = torch.device("cuda" if self.cuda else "cpu")
        self.dtype = torch.bfloat16 if self.cuda else torch.float32
        self.unet_config = TINY_UNET if tiny else SD15_UNET
        self.latent = 8 if tiny else 64  # latent side: 512 px / 8
        self.context = 32 if tiny else 768
        self.name = torch.cuda.get_device_name() if self.cuda else "cpu"

    def left(self) -> float:
        return self.budget - (time.time() - self.started)

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def unet(self, dtype: torch.dtype | None = None):
        """A fresh UNet with seeded random weights, frozen, on the device (built there: no 3 GB host copy)."""
        from diffusers import UNet2DConditionModel

        torch.manual_seed(0)
        with torch.device(self.device):
            unet = UNet2DConditionModel(**self.unet_config)
        return unet.requires_grad_(False).to(dtype=dtype or self.dtype)

    def reset_memory(self) -> None:
        gc.collect()
        if self.cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()

    def peak_gib(self) -> float | None:
        return torch.cuda.max_memory_allocated() / 2**30 if self.cuda else None

    def peak_reserved_gib(self) -> float | None:
        """What the caching allocator held at its peak: what the card really had to give."""
        return torch.cuda.max_memory_reserved() / 2**30 if self.cuda else None

    def timed(self, step, warmup: int, n: int) -> tuple[float, float]:
        """(seconds of the first call, mean seconds per step over n after warmup), GPU synced around each."""
        t0 = time.perf_counter()
        step(0)
        self.sync()
        first = time.perf_counter() - t0
        for i in range(1, warmup):
            step(i)
        self.sync()
        t0 = time.perf_counter()
        for i in range(n):
            step(warmup + i)
        self.sync()
        return first, (time.perf_counter() - t0) / n


def count_flops(fn) -> float:
    """FLOPs of one call, counted by torch's dispatcher (matmuls, convolutions, attention)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return float(counter.get_total_flops())


def fmt(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def environment() -> dict:
    import diffusers
    import peft

    return {"device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu", "torch": torch.__version__,
            "diffusers": diffusers.__version__, "peft": peft.__version__}


def write_json(path: str | None, data: dict) -> None:
    if path:
        from lora_studio.atomic import write_text_atomic

        write_text_atomic(Path(path), json.dumps(data, indent=1, default=str))
