"""SDXL training step: peak memory of the SDXL presets and step time against the diffusers SDXL LoRA example loop,
in one process on one GPU.

SDXL 1.0-shaped UNet (2.57 B parameters) with seeded random weights in bf16, 1024 px (128x128 latents), batch 1,
77x2048 context, 1280-wide pooled embedding and six size numbers (what the cached text embeddings and a picture's
bucket give the trainer). Rows:
- baseline: the loop of diffusers' examples/text_to_image/train_text_to_image_lora_sdxl.py (peft adapter rank 4 on
  to_q/to_k/to_v/to_out.0, frozen bf16 base, fp32 adapter, plain AdamW, autocast bf16, MSE, clipping to 1.0);
- lora-studio, same LoRA: the trainer's eager SDXL step (loss.diffusion_loss with the size conditioning, min-SNR,
  accelerate bf16, clipping, fused AdamW) with the baseline's rank, targets and no checkpointing: the speed row;
- character-sdxl-12gb / character-sdxl-8gb: the presets' LoRA (kohya's 722 modules), optimizer and gradient
  checkpointing: the memory rows, against 10 GiB and 7.5 GiB.
Text encoders and VAE are not on the GPU during these steps: the presets cache their outputs first (as training does).

Usage: python benchmarks/sdxl.py [--tiny] [--steps 10] [--json out.json]
       (--tiny: the tiny-sdxl shapes on a CPU in seconds, a smoke test; no number of it means anything)
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import environment, fmt, markdown_table, write_json  # noqa: E402

from lora_studio.config import load_config  # noqa: E402
from lora_studio.lora import add_lora  # noqa: E402
from lora_studio.loss import diffusion_loss  # noqa: E402
from lora_studio.optim import build_optimizer  # noqa: E402
from lora_studio.steps import step_generator  # noqa: E402
from lora_studio.training_setup import make_accelerator  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["method", "LoRA", "ckpt", "optimizer", "step ms", "images/s", "x baseline", "peak GiB", "target GiB", "check"]
PRESET_TARGETS = {"character-sdxl-12gb": 10.0, "character-sdxl-8gb": 7.5}
WARMUP = 3


class Shapes:
    """The UNet config and the conditioning sizes: SDXL 1.0's, or tiny-sdxl's for a CPU smoke test."""

    def __init__(self, tiny: bool) -> None:
        from lora_studio import tiny_sdxl

        self.tiny = tiny
        if tiny:
            self.unet_config = tiny_sdxl._unet().config
            self.latent, self.pixels = 8, 64
            self.context, self.pooled = tiny_sdxl.TEXT_WIDTH + tiny_sdxl.TEXT_WIDTH_2, tiny_sdxl.TEXT_WIDTH_2
        else:
            self.unet_config = tiny_sdxl.SDXL_UNET_CONFIG
            self.latent, self.context, self.pooled, self.pixels = 128, 2048, 1280, 1024
        self.cuda = torch.cuda.is_available()
        self.device = torch.device("cuda" if self.cuda else "cpu")
        self.dtype = torch.bfloat16 if self.cuda else torch.float32

    def unet(self):
        """A fresh UNet with seeded random weights, frozen, in bf16 on the device; peak memory counted from here."""
        from diffusers import UNet2DConditionModel

        gc.collect()
        if self.cuda:
            torch.cuda.empty_cache()
        torch.manual_seed(0)
        with torch.device(self.device):
            unet = UNet2DConditionModel.from_config(self.unet_config)
        unet = unet.requires_grad_(False).to(dtype=self.dtype)
        gc.collect()
        if self.cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        return unet

    def inputs(self, step: int) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """Cached latents and embeddings of one picture, moved to the device as the trainer does each step."""
        gen = torch.Generator().manual_seed(step)
        latents = torch.randn(1, 4, self.latent, self.latent, generator=gen)
        context = torch.randn(1, 77, self.context, generator=gen)
        pooled = torch.randn(1, self.pooled, generator=gen)
        size = float(self.pixels)
        time_ids = torch.tensor([[size, size, 0.0, 0.0, size, size]])
        move = dict(device=self.device, dtype=self.dtype)
        return latents.to(**move), context.to(**move), {"text_embeds": pooled.to(**move), "time_ids": time_ids.to(**move)}

    def peak_gib(self) -> float | None:
        return torch.cuda.max_memory_allocated() / 2**30 if self.cuda else None

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()


def scheduler():
    from diffusers import DDPMScheduler

    return DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)


def timed(shapes: Shapes, step, steps: int) -> float:
    """Mean seconds per step over `steps` after WARMUP, GPU synced."""
    for i in range(WARMUP):
        step(i)
    shapes.sync()
    t0 = time.perf_counter()
    for i in range(steps):
        step(WARMUP + i)
    shapes.sync()
    return (time.perf_counter() - t0) / steps


def baseline_row(shapes: Shapes, steps: int) -> dict:
    """diffusers' train_text_to_image_lora_sdxl.py loop, its defaults (rank 4, q/k/v/out, no checkpointing)."""
    import torch.nn.functional as F
    from peft import LoraConfig

    unet = shapes.unet()
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights="gaussian",
                                target_modules=["to_k", "to_q", "to_v", "to_out.0"]))
    params = [p for p in unet.parameters() if p.requires_grad]
    for p in params:
        p.data = p.data.float()
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=1e-2)
    noise_scheduler = scheduler()
    autocast = torch.autocast(shapes.device.type, dtype=torch.bfloat16, enabled=shapes.cuda)

    def step(i: int) -> None:
        latents, context, added = shapes.inputs(i)
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, 1000, (1,), device=shapes.device)
        noisy = noise_scheduler.add_noise(latents, noise, timesteps)
        with autocast:
            pred = unet(noisy, timesteps, context, added_cond_kwargs=added, return_dict=False)[0]
        loss = F.mse_loss(pred.float(), noise.float())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    seconds = timed(shapes, step, steps)
    row = dict(method="baseline (diffusers SDXL example)", lora="r4 attn", ckpt="no", optimizer="AdamW",
               seconds=seconds, peak=shapes.peak_gib(), target=None, check="")
    return row


def lora_studio_row(shapes: Shapes, accelerator, overrides: list[str], method: str, steps: int,
                    preset: str | None = None) -> dict:
    """The trainer's eager SDXL step with a preset's (or the baseline's) LoRA, optimizer and checkpointing."""
    import importlib.util

    config = ROOT / "configs" / f"{preset or 'character-sdxl-12gb'}.yaml"
    cfg = load_config(config, overrides)
    check = ""
    if cfg.train.optimizer == "adamw8bit" and importlib.util.find_spec("bitsandbytes") is None:
        cfg = load_config(config, [*overrides, "train.optimizer=adamw"])
        check = "adamw: bitsandbytes not installed"
    unet = shapes.unet()
    torch.manual_seed(cfg.train.seed)
    params = add_lora(unet, cfg.lora)
    if cfg.train.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    unet.train()
    optimizer = build_optimizer(cfg, params, shapes.device)
    unet, optimizer = accelerator.prepare(unet, optimizer)
    noise_scheduler = scheduler()
    losses = []

    def step(i: int) -> None:
        latents, context, added = shapes.inputs(i)
        gen = step_generator(cfg.train.seed, i, 0, shapes.device)
        with accelerator.autocast():
            loss = diffusion_loss(unet, noise_scheduler, latents, context, cfg, gen, "epsilon", added)
            losses.append(float(loss.item()))  # the trainer's NaN check reads the loss every step
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(params, cfg.train.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    seconds = timed(shapes, step, steps)
    finite = all(torch.isfinite(torch.tensor(losses)).tolist())
    check = "; ".join(filter(None, [check, "" if finite else "NaN LOSS"]))
    target = PRESET_TARGETS.get(preset or "")
    peak = shapes.peak_gib()
    if target is not None and peak is not None:
        check = "; ".join(filter(None, [check, "ok" if peak <= target else "OVER TARGET"]))
    row = dict(method=method, lora=f"r{cfg.lora.rank} {cfg.lora.targets}",
               ckpt="yes" if cfg.train.gradient_checkpointing else "no", optimizer=cfg.train.optimizer,
               seconds=seconds, peak=peak, target=target, check=check)
    accelerator.free_memory()
    return row


def table(rows: list[dict]) -> str:
    base = rows[0]["seconds"]
    out = [[r["method"], r["lora"], r["ckpt"], r["optimizer"], f"{r['seconds'] * 1000:.1f}", f"{1 / r['seconds']:.2f}",
            f"{base / r['seconds']:.2f}", fmt(r["peak"], ".2f"), fmt(r["target"], ".1f"), r["check"]] for r in rows]
    return markdown_table(COLUMNS, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny-sdxl shapes on a CPU: a smoke test")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per row (default 10, tiny 2)")
    parser.add_argument("--json", default=None, help="also write the rows and the environment here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    shapes = Shapes(args.tiny)
    steps = args.steps or (2 if args.tiny else 10)
    if not shapes.cuda and not args.tiny:
        print("no CUDA GPU: run with --tiny for a CPU smoke test; the SDXL numbers need a GPU", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        accelerator = make_accelerator(load_config(ROOT / "configs" / "character-sdxl-12gb.yaml"), Path(tmp))
        same = ["lora.rank=4", "lora.alpha=4", "lora.targets=attn", "train.gradient_checkpointing=false"]
        rows = [baseline_row(shapes, steps),
                lora_studio_row(shapes, accelerator, same, "lora-studio, same LoRA as baseline", steps)]
        for preset in PRESET_TARGETS:
            rows.append(lora_studio_row(shapes, accelerator, [], preset, steps, preset))
    env = environment()
    print(f"SDXL training step, {shapes.pixels} px, batch 1, {'bf16' if shapes.cuda else 'float32 (CPU)'}, "
          f"{env['device']}, torch {env['torch']}, diffusers {env['diffusers']}, peft {env['peft']}\n")
    print(table(rows))
    write_json(args.json, {"environment": env, "tiny": args.tiny, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
