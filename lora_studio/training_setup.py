"""The pieces around the loop: accelerator, optimizer, LR schedule, sample images, and the saved adapter."""

from __future__ import annotations

import io
import logging
import time
from dataclasses import asdict
from pathlib import Path

import torch

from .atomic import write_bytes_atomic, write_errors, write_failure
from .config import TrainConfig
from .data import ImageItem
from .errors import ConfigError, TrainingStopped, UserError
from .families import Family, adapter_metadata

log = logging.getLogger("lora_studio.train")


def ensure_finite(params, step: int) -> None:
    """Refuse to save weights a bad update turned into NaN/inf (the loss can still look finite on that step)."""
    if not all(bool(torch.isfinite(p.detach()).all()) for p in params):
        raise TrainingStopped("train.nonfinite_weights", step=step)


def _require_optional_packages(cfg: TrainConfig) -> None:
    """The settings that need a package lora-studio does not install by default."""
    import importlib.util

    if cfg.train.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError("train.needs_tensorboard")
    if cfg.train.optimizer == "adamw8bit" and importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError("train.needs_bitsandbytes")


def preflight(cfg: TrainConfig) -> None:
    """The checks that need no model, run before a training process starts so that mistakes come back at once:
    the base, the checkpoint to resume and its lora settings, optional packages. (The dataset is scanned too.)"""
    from . import checkpoints as ckpt
    from .models import check_base

    check_base(cfg.base, allow_pickle=cfg.allow_pickle)
    resume_from = ckpt.resolve_resume(cfg.run_dir.resolve(), cfg.train.resume)
    if resume_from is not None:
        ckpt.check_same_lora(resume_from, asdict(cfg.lora))
    _require_optional_packages(cfg)


def place(module: torch.nn.Module, device: torch.device | str, dtype: torch.dtype | None = None) -> None:
    """Move a frozen component; cast only when the dtype really changes (diffusers warns on every cast)."""
    current = next(module.parameters()).dtype
    module.to(device) if dtype is None or dtype == current else module.to(device, dtype)


def quiet_libraries() -> None:
    """Keep the terminal for our own progress: library INFO chatter and import-time notices off."""
    for name in ("accelerate", "diffusers", "transformers", "peft", "timm"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as transformers_logging

        diffusers_logging.set_verbosity_error()
        transformers_logging.set_verbosity_error()
        # "Loading pipeline components" / "Loading weights" bars on every start; downloads keep their own bars.
        diffusers_logging.disable_progress_bar()
        transformers_logging.disable_progress_bar()
    except ImportError:
        pass


def make_accelerator(cfg: TrainConfig, run_dir: Path):
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration

    precision = cfg.train.mixed_precision
    if precision != "no" and not torch.cuda.is_available():
        log.info("no CUDA GPU: training in float32 instead of %s", precision)
        precision = "no"
    log_with = None
    if cfg.train.tensorboard:
        _require_optional_packages(cfg)
        log_with = "tensorboard"
    accelerator = Accelerator(
        mixed_precision=precision, gradient_accumulation_steps=cfg.train.gradient_accumulation_steps, log_with=log_with,
        project_config=ProjectConfiguration(project_dir=str(run_dir), logging_dir=str(run_dir / "logs")),
    )
    if log_with:
        accelerator.init_trackers(cfg.name)
    return accelerator


def build_optimizer(cfg: TrainConfig, params: list[torch.nn.Parameter], device: torch.device):
    t = cfg.train
    if t.optimizer == "adamw8bit":
        _require_optional_packages(cfg)
        import bitsandbytes as bnb

        return bnb.optim.AdamW8bit(params, lr=t.learning_rate, weight_decay=t.weight_decay)
    # The fused kernel updates all adapter tensors in a few launches instead of a dozen per tensor.
    fused = device.type == "cuda"
    return torch.optim.AdamW(params, lr=t.learning_rate, weight_decay=t.weight_decay, fused=fused)


def build_scheduler(cfg: TrainConfig, optimizer, total_steps: int):
    from diffusers.optimization import get_scheduler

    return get_scheduler(cfg.train.lr_scheduler, optimizer=optimizer, num_warmup_steps=cfg.train.lr_warmup_steps,
                         num_training_steps=total_steps)


def default_sample_prompt(cfg: TrainConfig, tag_counts: dict[str, int]) -> str:
    """The trigger word plus the dataset's most frequent tags: what a user would type first."""
    tags = [cfg.dataset.trigger_word] if cfg.dataset.trigger_word else []
    tags += [t for t in tag_counts if t not in tags][:5]
    return ", ".join(tags)


@torch.no_grad()
def sample_images(pipe, unet, cfg: TrainConfig, run_dir: Path, step: int, items: list[ImageItem],
                  device: torch.device, weight_dtype: torch.dtype) -> list[Path]:
    """Render the configured sample prompts with the adapter being trained into samples/step{N}_{i}.png."""
    from .data import tag_frequency
    from .generate import GenerateConfig, generate_images

    s = cfg.sample
    prompts = s.prompts or [default_sample_prompt(cfg, tag_frequency(items))]
    text_encoders = [pipe.text_encoder] + ([pipe.text_encoder_2] if getattr(pipe, "text_encoder_2", None) else [])
    text_device = next(pipe.text_encoder.parameters()).device
    # SDXL's VAE overflows to NaN in fp16 (its config says force_upcast): it decodes in float32 there.
    vae_dtype = torch.float32 if weight_dtype == torch.float16 and pipe.vae.config.get("force_upcast") else weight_dtype
    place(pipe.vae, device, vae_dtype)
    for text_encoder in text_encoders:
        place(text_encoder, device, weight_dtype)
    pipe.unet = unet
    was_training = unet.training
    unet.eval()
    paths = []
    try:
        for i, prompt in enumerate(prompts):
            gen_cfg = GenerateConfig(base=cfg.base, loras=[], prompt=prompt, negative_prompt=s.negative_prompt,
                                     steps=s.steps, guidance_scale=s.guidance_scale, sampler=s.sampler, seed=s.seed,
                                     width=cfg.dataset.resolution, height=cfg.dataset.resolution, batch_size=1)
            for image, params in generate_images(pipe, gen_cfg):
                path = Path(run_dir) / "samples" / f"step{step:06d}_{i}.png"
                try:
                    write_bytes_atomic(path, _png_bytes(image, params))
                except OSError as e:
                    raise UserError("train.write_failed_kept", failure=write_failure(e, "io.what_sample", path)) from None
                paths.append(path)
    finally:
        from .fast_generate import release_graphs

        release_graphs(unet)  # a sampling graph's memory is not held through training
        unet.train(was_training)
        place(pipe.vae, "cpu")
        for text_encoder in text_encoders:
            place(text_encoder, text_device)
    return paths


def _png_bytes(image, params: str) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("parameters", params)
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


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
