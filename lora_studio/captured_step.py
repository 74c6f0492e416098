"""The pieces a captured training step (fast_step.TrainStep) is built from: the static buffers of one batch shape,
and the switches that make peft's layers, gradient checkpointing and fused AdamW safe to capture in a CUDA graph."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class ShapeGraph:
    """One batch shape's static tensors: the graph reads its inputs from them and writes its loss into them."""

    latents: torch.Tensor
    embeddings: torch.Tensor
    noise: torch.Tensor
    timesteps: torch.Tensor
    loss: torch.Tensor
    found_inf: torch.Tensor
    replay: Callable[[], None] | None = None


@contextlib.contextmanager
def lora_input_casts_off(layers: list[torch.nn.Module]):
    """Under autocast peft's cast of each LoRA input to fp32 is undone at once by autocast (bf16 -> fp32 -> bf16 is
    exact): skipping it drops two kernels and one saved copy of the input per adapted layer, same numbers."""
    saved = [layer.cast_input_dtype_enabled for layer in layers]
    for layer in layers:
        layer.cast_input_dtype_enabled = False
    try:
        yield
    finally:
        for layer, value in zip(layers, saved, strict=True):
            layer.cast_input_dtype_enabled = value


def graph_safe_checkpointing(module, *args, **kwargs):
    # diffusers' default also saves the CUDA RNG state per block, which cannot be read during capture;
    # nothing random runs inside the UNet here (lora.dropout=0 is required), so there is nothing to restore.
    return torch.utils.checkpoint.checkpoint(module.__call__, *args, use_reentrant=False, preserve_rng_state=False,
                                             **kwargs)


def static_buffers(latents: torch.Tensor, embeddings: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor, *,
                   channels_last: bool = False) -> ShapeGraph:
    """Buffers of this batch's shapes and dtypes, holding this batch's values."""
    fmt = torch.channels_last if channels_last and latents.dim() == 4 else torch.contiguous_format
    shape = ShapeGraph(
        latents=torch.empty_like(latents, memory_format=fmt), embeddings=torch.empty_like(embeddings),
        noise=torch.empty_like(noise, memory_format=fmt), timesteps=torch.empty_like(timesteps),
        loss=torch.zeros((), dtype=torch.float32, device=latents.device),
        found_inf=torch.zeros((), dtype=torch.float32, device=latents.device))
    for buffer, value in ((shape.latents, latents), (shape.embeddings, embeddings), (shape.noise, noise),
                          (shape.timesteps, timesteps)):
        buffer.copy_(value)
    return shape


@contextlib.contextmanager
def graph_optimizer(opt: torch.optim.Optimizer, lrs: list[torch.Tensor], found_inf: torch.Tensor):
    """AdamW reads lr from a device tensor (a float would be baked into the graph) and skips the update where
    found_inf is 1; `capturable` only while capturing, so checkpoints keep today's param_groups."""
    saved = [(g["lr"], g["capturable"]) for g in opt.param_groups]
    capturing = found_inf.is_cuda and torch.cuda.is_current_stream_capturing()
    for group, lr in zip(opt.param_groups, lrs, strict=True):
        group["lr"], group["capturable"] = lr, capturing
    opt.found_inf = found_inf
    try:
        yield
    finally:
        del opt.found_inf
        for group, (lr, capturable) in zip(opt.param_groups, saved, strict=True):
            group["lr"], group["capturable"] = lr, capturable
