"""The training objective, shared by the eager step (train.py) and the captured one (fast_step.py).

The random draws are apart from the math so the CUDA-graph step can draw outside the graph, with the same generator
calls in the same order, and copy the results into its static buffers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F


def draw_noise(latents: torch.Tensor, gen: torch.Generator, *, noise_offset: float,
               num_train_timesteps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The step's noise and timesteps, drawn from the step's own generator (resume depends on this order)."""
    noise = torch.randn(latents.shape, generator=gen, device=gen.device).to(latents.device, latents.dtype)
    if noise_offset:
        offset = torch.randn((latents.shape[0], latents.shape[1], 1, 1), generator=gen, device=gen.device)
        noise = noise + noise_offset * offset.to(latents.device, latents.dtype)
    timesteps = torch.randint(0, num_train_timesteps, (latents.shape[0],), generator=gen,
                              device=gen.device).to(latents.device)
    return noise, timesteps


def denoising_loss(forward: Callable, noise_scheduler, latents: torch.Tensor, embeddings: torch.Tensor,
                   noise: torch.Tensor, timesteps: torch.Tensor, *, prediction_type: str,
                   min_snr_gamma: float | None) -> torch.Tensor:
    """Noise the latents at the drawn timesteps and score the UNet's prediction (min-SNR weighted)."""
    noisy = noise_scheduler.add_noise(latents, noise, timesteps)
    target = noise if prediction_type == "epsilon" else noise_scheduler.get_velocity(latents, noise, timesteps)
    pred = forward(noisy, timesteps, embeddings).sample
    loss = F.mse_loss(pred.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
    if min_snr_gamma:
        from diffusers.training_utils import compute_snr

        snr = compute_snr(noise_scheduler, timesteps)
        weight = torch.clamp(snr, max=min_snr_gamma)
        weight = weight / snr if prediction_type == "epsilon" else weight / (snr + 1)
        loss = loss * weight
    return loss.mean()


def diffusion_loss(unet, noise_scheduler, latents: torch.Tensor, embeddings: torch.Tensor, cfg, gen: torch.Generator,
                   prediction_type: str, added_cond: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """One step's loss as the trainer computes it: draw noise and timesteps from `gen`, then score the UNet.
    `added_cond` is SDXL's pooled text embedding and size numbers (`text_embeds`, `time_ids`)."""
    t = cfg.train
    if added_cond is not None:
        unet = functools.partial(unet, added_cond_kwargs=added_cond)
    noise, timesteps = draw_noise(latents, gen, noise_offset=t.noise_offset,
                                  num_train_timesteps=noise_scheduler.config.num_train_timesteps)
    return denoising_loss(unet, noise_scheduler, latents, embeddings, noise, timesteps,
                          prediction_type=prediction_type, min_snr_gamma=t.min_snr_gamma)
