"""Sample images during training: the run's prompts rendered with the adapter being trained, into samples/."""

from __future__ import annotations

from pathlib import Path

import torch

from .atomic import write_bytes_atomic, write_failure
from .config import TrainConfig
from .data import ImageItem
from .errors import UserError
from .models import place
from .png_info import png_bytes


def sample_due(cfg: TrainConfig, step: int, finished_epoch: int | None) -> bool:
    """Whether sample.every_n_steps or sample.every_n_epochs (with the epoch this step finished) asks for samples."""
    s = cfg.sample
    by_step = bool(s.every_n_steps) and step % s.every_n_steps == 0
    return by_step or bool(finished_epoch and s.every_n_epochs and finished_epoch % s.every_n_epochs == 0)


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
                    write_bytes_atomic(path, png_bytes(image, params))
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
