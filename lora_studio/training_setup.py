"""A training run's setup, in the order it happens (as torchtune's recipes do): the accelerator, the base model,
the latent and caption caches, the adapter with its optimizer and LR schedule, and the resume point.
The loop in train.py reads these pieces and nothing flows back. (Also: library logging kept quiet, for the
trainer and the CLI.)"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from . import checkpoints as ckpt
from .cache import LatentCache, TextEmbeddingCache
from .conditioning import PromptEncoder
from .config import TrainConfig
from .data import ImageItem, build_caption, caption_is_deterministic
from .families import Family
from .launch import require_optional_packages
from .models import load_pipeline, pipeline_family, place, set_noise_schedule, tiny_note
from .optim import build_lr_schedule, build_optimizer
from .runlog import truncate_metrics
from .steps import step_rng
from .text import Text

log = logging.getLogger("lora_studio.train")


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
        require_optional_packages(cfg)
        log_with = "tensorboard"
    accelerator = Accelerator(
        mixed_precision=precision, gradient_accumulation_steps=cfg.train.gradient_accumulation_steps, log_with=log_with,
        project_config=ProjectConfiguration(project_dir=str(run_dir), logging_dir=str(run_dir / "logs")),
    )
    if log_with:
        accelerator.init_trackers(cfg.name)
    return accelerator


@dataclass
class BaseModel:
    """The loaded base with what the loop needs from it: the family, prompt encoders, the training noise schedule."""
    pipe: object
    family: Family
    prompts: PromptEncoder
    noise_scheduler: object
    prediction_type: str


def load_base(cfg: TrainConfig, main: bool) -> BaseModel:
    """The base pipeline, frozen, with the noise schedule and prediction type this run trains with."""
    pipe = load_pipeline(cfg.base, allow_pickle=cfg.allow_pickle)
    family = pipeline_family(pipe).with_prediction(cfg.train.prediction_type, cfg.train.zero_terminal_snr)
    set_noise_schedule(pipe, family)  # what a setting asks over the base's own (samples denoise as we train)
    prompts = PromptEncoder.for_pipe(pipe, family)
    for module in (pipe.unet, pipe.vae, *prompts.text_encoders):
        module.requires_grad_(False)
    if main:
        log.info("%s", Text("log.base_family", label=family.label, prediction=family.prediction_type,
                            ztsnr=Text("log.ztsnr") if family.zero_terminal_snr else ""))
        if cfg.dataset.resolution < family.resolution and not tiny_note(cfg.base):
            presets = Text("train.presets_sdxl" if family.xl else "train.presets_character")
            log.warning("%s", Text("train.resolution_below_native", resolution=cfg.dataset.resolution,
                                   family=family.label, native=family.resolution, presets=presets))
    noise_scheduler = _training_scheduler(pipe)
    prediction_type = cfg.train.prediction_type or noise_scheduler.config.prediction_type
    if prediction_type != pipe.scheduler.config.get("prediction_type"):  # samples must denoise the way we train
        pipe.scheduler.register_to_config(prediction_type=prediction_type)
    return BaseModel(pipe, family, prompts, noise_scheduler, prediction_type)


def _training_scheduler(pipe):
    from diffusers import DDPMScheduler

    return DDPMScheduler.from_config(pipe.scheduler.config)


def build_caches(cfg: TrainConfig, base: BaseModel, items: list[ImageItem], run_dir: Path, device: torch.device,
                 weight_dtype: torch.dtype, main: bool) -> tuple[LatentCache, TextEmbeddingCache]:
    """Cache latents and (when captions are fixed) text embeddings, then move the encoders off the GPU."""
    disk = run_dir / "cache" if cfg.dataset.cache == "disk" else None
    vae, prompts = base.pipe.vae, base.prompts
    place(vae, device)  # float32 as loaded: SDXL's VAE overflows to NaN in fp16
    for text_encoder in prompts.text_encoders:
        place(text_encoder, device, weight_dtype)
    latents = LatentCache(items, base=cfg.base, flip=cfg.dataset.flip, disk_dir=disk)
    encoded = latents.build(vae, device, weight_dtype)
    texts = TextEmbeddingCache(prompts, base=cfg.base, disk_dir=disk)
    fixed_captions = caption_is_deterministic(cfg.dataset)
    if fixed_captions:
        # Captions are fixed apart from dropout, which only adds the empty caption.
        no_dropout = replace(cfg.dataset, caption_dropout=0.0)
        texts.precompute([build_caption(i.tags, no_dropout, step_rng(0, 0, 0)) for i in items] + [""], weight_dtype)
        for text_encoder in prompts.text_encoders:
            place(text_encoder, "cpu")
    place(vae, "cpu")
    if main:
        log.info("%s", Text("log.cached", n=len(items), reused=len(items) - encoded,
                            embeddings=Text("log.embeddings_cached" if fixed_captions else "log.embeddings_each_step")))
    return latents, texts


def add_adapter(cfg: TrainConfig, accelerator, unet: torch.nn.Module, weight_dtype: torch.dtype, total_steps: int):
    """The LoRA on the UNet (seeded: same seed, same initial weights), its optimizer and LR schedule, prepared
    by accelerate with only the adapter in checkpoints. Returns (unet, params, optimizer, lr_schedule)."""
    from .lora import add_lora

    place(unet, accelerator.device, weight_dtype)
    torch.manual_seed(cfg.train.seed)  # the adapter's initial weights: same seed, same run
    params = add_lora(unet, cfg.lora)
    if cfg.train.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    unet.train()
    optimizer = build_optimizer(cfg, params, accelerator.device)
    lr_schedule = build_lr_schedule(cfg, optimizer, total_steps)
    unet, optimizer = accelerator.prepare(unet, optimizer)
    accelerator.register_for_checkpointing(lr_schedule)
    ckpt.save_only_adapter_weights(accelerator)
    return unet, params, optimizer, lr_schedule


def resume_point(cfg: TrainConfig, accelerator, unet, run_dir: Path) -> tuple[int, int, int]:
    """Load the checkpoint train.resume names, if any: (step, epoch, batch in epoch) to continue from."""
    main = accelerator.is_main_process
    step, epoch, batch_in_epoch = 0, 0, 0
    resume_from = ckpt.resolve_resume(run_dir, cfg.train.resume)
    if resume_from is not None:
        ckpt.check_same_lora(resume_from, asdict(cfg.lora))
        state = ckpt.load_checkpoint(accelerator, unet, resume_from)
        step, epoch, batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        if main:
            log.info("resumed from %s at step %d", resume_from, step)
    elif cfg.train.resume and main:
        log.info("no checkpoint to resume from yet; starting at step 0")
    if main:  # rows past the starting step belong to a run that did not survive: the curve shows each step once
        truncate_metrics(run_dir, step)
    return step, epoch, batch_in_epoch
