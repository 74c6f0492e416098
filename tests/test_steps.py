"""How the step plan is said: a run that max_train_steps cuts short says where it ends."""

from __future__ import annotations

from lora_studio.steps import StepPlan


def plan(total_steps: int, epochs: int = 3) -> StepPlan:
    return StepPlan(num_images=8, num_samples=8, batch_size=1, world_size=1, accumulation=1, batches_per_epoch=8,
                    steps_per_epoch=8, epochs=epochs, total_steps=total_steps)


def test_a_step_limit_inside_an_epoch_says_the_run_ends_early_at_that_step():
    text = plan(20).describe()
    assert "ends the run early, at step 20" in text
    assert "3 epochs = 20 steps" not in text


def test_whole_epochs_are_counted_as_before():
    assert plan(24).describe().endswith("8 steps per epoch; 3 epochs = 24 steps")
