"""The numbers the explanations quote, taken from the run's config and base model (not from the tutorial)."""

from __future__ import annotations

from typing import Any

from torch import nn

from .config import LessonConfig
from .model import TINY_CLASSIFIER, base_layers, block_number, keras_name, layers_to_unfreeze


def lesson_facts(config: LessonConfig, base: nn.Module | None = None) -> dict[str, Any]:
    """Settings from `config`; with `base`, also how many of its layers phase 2 unfreezes and where they start.

    `run_lesson` sends this dict in every "stage" event as "facts"; `texts.explain(..., facts=...)` reads it.
    """
    transfer, finetune, model = config.transfer, config.finetune, config.model
    facts: dict[str, Any] = {
        "transfer_lr": transfer.learning_rate, "transfer_epochs": transfer.epochs,
        "finetune_lr": finetune.learning_rate, "finetune_epochs": finetune.epochs,
        "head_lr_multiplier": finetune.head_lr_multiplier, "unfreeze_fraction": finetune.unfreeze_fraction,
        "test_fraction": config.data.test_fraction, "flip": model.flip, "rotation": model.rotation,
        "dropout": model.dropout, "data_dir": str(config.data_dir), "run_dir": str(config.run_dir), "tiny": config.base == TINY_CLASSIFIER,
    }
    if base is not None:
        layers = base_layers(base)
        count = layers_to_unfreeze(len(layers), finetune.unfreeze_fraction)  # the same rule unfreeze_last_layers uses
        facts.update(layers=len(layers), unfrozen_layers=count, blocks=len(getattr(base, "layer", ())))
        if count:
            first = layers[len(layers) - count][0]
            facts.update(first_unfrozen=first, keras_first_unfrozen=keras_name(first), first_block=block_number(first))
    return facts
