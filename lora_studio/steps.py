"""Step arithmetic and per-step randomness.

Randomness is derived from (seed, micro-batch index, rank) instead of carried state, so a resumed
run draws exactly the noise, timesteps and caption shuffles the uninterrupted run would have drawn.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

import torch

from .config import TrainConfig
from .data import ImageItem, plan_epoch
from .errors import DatasetError
from .text import Text


@dataclass
class StepPlan:
    num_images: int
    num_samples: int
    batch_size: int
    world_size: int
    accumulation: int
    batches_per_epoch: int  # per process, a multiple of `accumulation`
    steps_per_epoch: int
    epochs: int
    total_steps: int

    def describe(self) -> Text:
        """The run's arithmetic, said once at the start (a Text: the console renders it in its language)."""
        procs = Text("log.plan_procs", n=self.world_size) if self.world_size > 1 else ""
        accum = Text("log.plan_accum", n=self.accumulation) if self.accumulation > 1 else ""
        return Text("log.plan", images=self.num_images, samples=self.num_samples, batch=self.batch_size, procs=procs,
                    accum=accum, per_epoch=self.steps_per_epoch, length=self._length())

    def _length(self) -> Text:
        full = self.steps_per_epoch * self.epochs
        if self.total_steps < full:  # train.max_train_steps cuts the last epoch short
            return Text("log.plan_early", total=self.total_steps, epochs=self.epochs, full=full)
        return Text("log.plan_length", epochs=self.epochs, total=self.total_steps)


def plan_steps(cfg: TrainConfig, items: list[ImageItem], world_size: int) -> StepPlan:
    t = cfg.train
    batches = len(plan_epoch(items, t.batch_size, t.seed, 0)) // world_size
    batches -= batches % t.gradient_accumulation_steps
    steps_per_epoch = batches // t.gradient_accumulation_steps
    if steps_per_epoch == 0:
        raise DatasetError("data.too_few_images", path=cfg.dataset.path, images=len(items), batch=t.batch_size,
                           accumulation=t.gradient_accumulation_steps, processes=world_size)
    if t.max_train_steps:
        total, epochs = t.max_train_steps, math.ceil(t.max_train_steps / steps_per_epoch)
    else:
        total, epochs = steps_per_epoch * t.epochs, t.epochs
    return StepPlan(num_images=len(items), num_samples=sum(i.repeats for i in items), batch_size=t.batch_size,
                    world_size=world_size, accumulation=t.gradient_accumulation_steps, batches_per_epoch=batches,
                    steps_per_epoch=steps_per_epoch, epochs=epochs, total_steps=total)


def _seed(*parts: int) -> int:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def step_rng(seed: int, micro_step: int, rank: int) -> random.Random:
    return random.Random(_seed(seed, micro_step, rank, 1))


def step_generator(seed: int, micro_step: int, rank: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(_seed(seed, micro_step, rank, 2))
