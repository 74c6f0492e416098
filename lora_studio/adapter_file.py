"""The trained adapter as a file: kohya-format LoRA with the ss_* metadata A1111 shows, never NaN weights."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from .atomic import write_errors, write_failure
from .config import TrainConfig
from .errors import TrainingStopped, UserError
from .families import Family, adapter_metadata


def ensure_finite(params, step: int) -> None:
    """Refuse to save weights a bad update turned into NaN/inf (the loss can still look finite on that step)."""
    if not all(bool(torch.isfinite(p.detach()).all()) for p in params):
        raise TrainingStopped("train.nonfinite_weights", step=step)


def save_adapter(unet, cfg: TrainConfig, family: Family, run_dir: Path, step: int, epoch: int,
                 tag_counts: dict[str, int], seconds: float, file_name: str | None = None,
                 num_epochs: int | None = None) -> Path:
    """Write the kohya-format adapter (+ diffusers copy) with the ss_* metadata AUTOMATIC1111 shows; the family's
    facts (base model version, v2, v-parameterization, modelspec architecture) as kohya writes them. With
    `file_name`, a per-epoch adapter (epoch_adapters.py) with the same metadata and no diffusers copy.

    Never writes NaN weights, and a failed write leaves the previous adapter file as it was (UserError)."""
    from .lora import save_lora

    ensure_finite([p for name, p in unet.named_parameters() if "lora_" in name], step)

    now = time.time()
    metadata = {
        "ss_sd_model_name": cfg.base, **adapter_metadata(family, cfg.dataset.resolution),
        "ss_resolution": f"({cfg.dataset.resolution}, {cfg.dataset.resolution})",
        "ss_network_module": "networks.lora", "ss_network_dim": cfg.lora.rank, "ss_network_alpha": cfg.lora.alpha,
        "ss_steps": step, "ss_epoch": epoch, "ss_num_epochs": num_epochs or epoch,
        "ss_learning_rate": cfg.train.learning_rate, "ss_batch_size_per_device": cfg.train.batch_size,
        "ss_mixed_precision": cfg.train.mixed_precision, "ss_seed": cfg.train.seed,
        "ss_tag_frequency": {Path(cfg.dataset.path).name: tag_counts},
        "ss_training_started_at": now - seconds, "ss_training_finished_at": now, "ss_training_time": round(seconds, 1),
        "ss_output_name": cfg.name, "ss_trigger_word": cfg.dataset.trigger_word,
        "modelspec.trigger_phrase": cfg.dataset.trigger_word, "modelspec.title": cfg.name,
        "lora_studio_targets": cfg.lora.targets,
    }
    try:
        return save_lora(unet, run_dir, cfg.name, cfg.lora, metadata, family=family, file_name=file_name)
    except torch.OutOfMemoryError:
        raise
    except write_errors() as e:
        target = Path(run_dir) / (file_name or f"{cfg.name}.safetensors")
        raise UserError("train.adapter_write_failed", failure=write_failure(e, "io.what_adapter", target)) from None
