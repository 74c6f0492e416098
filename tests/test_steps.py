"""Step arithmetic and per-step randomness: what a user reads before training, and what makes resume exact."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lora_studio.config import load_config
from lora_studio.data import ImageItem
from lora_studio.errors import DatasetError
from lora_studio.steps import plan_steps, step_generator, step_rng


def _items(count: int, repeats: int = 1, bucket=(64, 64)) -> list[ImageItem]:
    return [ImageItem(Path(f"{i}.png"), None, ["mychar"], repeats, *bucket, bucket) for i in range(count)]


def _config(*overrides: str):
    return load_config(None, ["base=tiny", *overrides])


def test_the_plan_counts_repeats_batches_and_epochs():
    plan = plan_steps(_config("train.batch_size=2", "train.epochs=3"), _items(5, repeats=2), world_size=1)
    assert (plan.num_images, plan.num_samples, plan.steps_per_epoch, plan.epochs, plan.total_steps) == (5, 10, 5, 3, 15)
    assert plan.describe() == "5 images with repeats = 10 samples / batch 2 = 5 steps per epoch; 3 epochs = 15 steps"


def test_processes_and_accumulation_divide_the_epoch_into_whole_steps():
    plan = plan_steps(_config("train.gradient_accumulation_steps=2"), _items(9), world_size=2)
    # 9 batches of one; 4 per process; accumulation 2 -> 2 optimizer steps per epoch
    assert (plan.batches_per_epoch, plan.steps_per_epoch) == (4, 2)
    assert "/ 2 processes / accumulation 2" in plan.describe()


def test_max_train_steps_decides_the_length_and_the_epochs_follow():
    plan = plan_steps(_config("train.max_train_steps=7", "train.epochs=100"), _items(3), world_size=1)
    assert (plan.total_steps, plan.epochs) == (7, 3)


def test_too_few_images_for_one_step_is_a_message_naming_the_settings():
    # one picture makes one batch, and two processes need one batch each
    with pytest.raises(DatasetError, match=r"1 images are too few .*train.batch_size=1 .* 2 processes"):
        plan_steps(_config(), _items(1), world_size=2)


def test_step_randomness_depends_only_on_seed_step_and_rank():
    # A resumed run re-derives each step's draws from these three numbers, so they must not carry hidden state.
    assert step_rng(42, 7, 0).random() == step_rng(42, 7, 0).random()
    assert step_rng(42, 7, 0).random() != step_rng(42, 8, 0).random()
    assert step_rng(42, 7, 0).random() != step_rng(42, 7, 1).random()
    cpu = torch.device("cpu")
    assert torch.equal(torch.randn(4, generator=step_generator(1, 3, 0, cpu)),
                       torch.randn(4, generator=step_generator(1, 3, 0, cpu)))
    assert not torch.equal(torch.randn(4, generator=step_generator(1, 3, 0, cpu)),
                           torch.randn(4, generator=step_generator(2, 3, 0, cpu)))


def _plan(total_steps: int, epochs: int = 3):
    from lora_studio.steps import StepPlan

    return StepPlan(num_images=8, num_samples=8, batch_size=1, world_size=1, accumulation=1, batches_per_epoch=8,
                    steps_per_epoch=8, epochs=epochs, total_steps=total_steps)


def test_a_step_limit_inside_an_epoch_says_the_run_ends_early_at_that_step():
    text = _plan(20).describe()
    assert "ends the run early, at step 20" in text
    assert "3 epochs = 20 steps" not in text


def test_whole_epochs_are_counted_as_before():
    assert _plan(24).describe().endswith("8 steps per epoch; 3 epochs = 24 steps")
