"""The optimizer and its learning-rate schedule, built together from `cfg.train`."""

from __future__ import annotations

import torch

from .config import TrainConfig
from .launch import require_optional_packages


def build_optimizer(cfg: TrainConfig, params: list[torch.nn.Parameter], device: torch.device):
    t = cfg.train
    if t.optimizer == "adamw8bit":
        require_optional_packages(cfg)
        import bitsandbytes as bnb

        return bnb.optim.AdamW8bit(params, lr=t.learning_rate, weight_decay=t.weight_decay)
    # The fused kernel updates all adapter tensors in a few launches instead of a dozen per tensor.
    fused = device.type == "cuda"
    return torch.optim.AdamW(params, lr=t.learning_rate, weight_decay=t.weight_decay, fused=fused)


def build_lr_schedule(cfg: TrainConfig, optimizer, total_steps: int):
    """The learning rate over the run (train.lr_scheduler with its warmup), stepped once per optimizer step."""
    from diffusers.optimization import get_scheduler

    return get_scheduler(cfg.train.lr_scheduler, optimizer=optimizer, num_warmup_steps=cfg.train.lr_warmup_steps,
                         num_training_steps=total_steps)
