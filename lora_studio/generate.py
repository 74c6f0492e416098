"""`lora-studio generate`: a base model plus LoRA adapters -> PNGs with AUTOMATIC1111-style parameters.

The parameters text is A1111's infotext (png_info.py), so the PNG-info tab of A1111 (and Civitai) reads our images.
Adapters are loaded with diffusers' own `load_lora_weights` (it reads kohya files, `.alpha` included).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import math
import random
import re
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .config import DEFAULT_NEGATIVE_PROMPT, SAMPLERS
from .errors import ConfigError, UserError
from .fast_generate import graphed_unet
from .models import load_pipeline, pipeline_family, tiny_note
from .png_info import lora_hashes, parameters_text, save_png

log = logging.getLogger(__name__)

MAX_SEED = 4294967294  # A1111's range for random seeds
ADAPTER_PREFIX = "ls_"  # names of adapters generate() loads, so it can unload exactly those


@dataclass
class GenerateConfig:
    base: str
    loras: list[str] = field(default_factory=list)  # "path" or "path:scale"
    prompt: str = ""
    negative_prompt: str = DEFAULT_NEGATIVE_PROMPT
    steps: int = 30
    guidance_scale: float = 7.0
    sampler: str = "euler_a"
    seed: int = -1  # -1: random, recorded in the PNG
    width: int | None = None  # None: the base's native size
    height: int | None = None
    batch_size: int = 1
    out_dir: str = "outputs/generated"
    allow_pickle: bool = False
    cuda_graphs: bool = True  # on a GPU, replay the UNet from CUDA graphs (fast_generate); False: plain eager calls

    def validate(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ConfigError("generate.unknown_sampler", value=self.sampler, allowed=", ".join(SAMPLERS))
        for key in ("width", "height"):
            value = getattr(self, key)
            if value is not None and (value < 8 or value % 8):
                raise ConfigError("generate.size_multiple", key=key, value=value)
        if self.steps < 1:
            raise ConfigError("generate.steps_min", value=self.steps)
        if self.batch_size < 1:
            raise ConfigError("generate.batch_min", value=self.batch_size)
        if self.guidance_scale < 0:
            raise ConfigError("generate.guidance_negative", value=self.guidance_scale)
        if self.seed < -1 or self.seed > 2**63 - 1:
            raise ConfigError("generate.bad_seed", value=self.seed)
        for spec in self.loras:
            parse_lora_spec(spec)


def parse_lora_spec(spec: str) -> tuple[Path, float]:
    """'path' or 'path:scale' -> (path, scale). Only a number after the last ':' is a scale, so C:\\x works."""
    path, sep, tail = spec.rpartition(":")
    scale = 1.0
    if sep:
        try:
            scale = float(tail)
        except ValueError:
            if Path(path).expanduser().is_file() and not Path(spec).expanduser().is_file():
                raise UserError("generate.strength_not_number", spec=spec, path=path) from None
            path = spec
    else:
        path = spec
    if not math.isfinite(scale):
        raise UserError("generate.strength_not_finite", spec=spec)
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError("generate.lora_missing", path=path)
    if path.suffix.lower() != ".safetensors":
        raise UserError("generate.lora_not_safetensors", path=path)
    return path, scale


# ---------------------------------------------------------------- pipelines

_cache_lock = threading.Lock()
_cache: dict = {"key": None, "pipe": None}


def inference_device() -> tuple[torch.device, torch.dtype]:
    if torch.cuda.is_available():
        return torch.device("cuda"), torch.float16
    return torch.device("cpu"), torch.float32


def _load_for_inference(base: str, allow_pickle: bool):
    device, dtype = inference_device()
    pipe = load_pipeline(base, allow_pickle=allow_pickle, dtype=dtype).to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def get_pipeline(base: str, allow_pickle: bool = False):
    """The studio's one cached pipeline: the same object for the same base; a new base replaces the old."""
    key = (base, allow_pickle)
    with _cache_lock:
        if _cache["key"] != key:
            _cache["key"] = _cache["pipe"] = None  # free the old one before loading the next
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            _cache["pipe"] = _load_for_inference(base, allow_pickle)
            _cache["key"] = key
        return _cache["pipe"]


# sampler -> (diffusers scheduler class, options over the base's scheduler config)
SCHEDULERS = {
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {"use_karras_sigmas": False}),
    "dpmpp_2m_karras": ("DPMSolverMultistepScheduler",
                        {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True}),
    "dpmpp_2m": ("DPMSolverMultistepScheduler",
                 {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": False}),
    "ddim": ("DDIMScheduler", {}),
    "ddpm": ("DDPMScheduler", {}),
    "pndm": ("PNDMScheduler", {"skip_prk_steps": True}),
}


def sampler_scheduler(sampler: str, base_config):
    """The sampler's diffusers scheduler, built on the base's own scheduler config."""
    import diffusers

    if sampler not in SCHEDULERS:
        raise ConfigError("generate.unknown_sampler", value=sampler, allowed=", ".join(SAMPLERS))
    class_name, options = SCHEDULERS[sampler]
    return getattr(diffusers, class_name).from_config(base_config, **options)


def _base_scheduler_config(pipe):
    """The pipeline's own scheduler config, kept on first use so one sampler's options never leak into the next."""
    config = getattr(pipe, "_lora_studio_scheduler_config", None)
    if config is None:
        config = dict(pipe.scheduler.config)
        pipe._lora_studio_scheduler_config = config
    return config


# ---------------------------------------------------------------- adapters


def _adapter_name(index: int, path: Path) -> str:
    return f"{ADAPTER_PREFIX}{index}_{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}"


def unload_loras(pipe) -> None:
    """Remove the adapters generate() loaded earlier; adapters it did not load (training) stay."""
    adapters = {name for names in pipe.get_list_adapters().values() for name in names}
    ours = sorted(n for n in adapters if n.startswith(ADAPTER_PREFIX))
    pipe._lora_studio_applied = None
    if not ours:
        return
    if len(ours) == len(adapters):
        pipe.unload_lora_weights()  # drops the LoRA layers entirely: the base is exactly as loaded
    else:
        pipe.delete_adapters(ours)


class _NoTextEncoderPartNote(logging.Filter):
    """diffusers warns for every LoRA without a text-encoder part; ours never have one, so it is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("No LoRA keys associated to") and "TextModel" in message)


logging.getLogger("diffusers.loaders.lora_base").addFilter(_NoTextEncoderPartNote())


def apply_loras(pipe, loras: list[str]) -> None:
    """Replace earlier generate() adapters by `loras` ("path[:scale]"); a scale of 0 is not loaded at all."""
    from safetensors.torch import load_file

    # The same adapters at the same scales are kept in place: reloading costs time and a CUDA graph recapture.
    key = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns, scale) for p, scale in map(parse_lora_spec, loras)]
    if key and getattr(pipe, "_lora_studio_applied", None) == key:
        return
    if key and _rescale_loaded(pipe, key):  # the same files at other strengths (a comparison's columns)
        return
    unload_loras(pipe)
    names, weights = [], []
    for index, spec in enumerate(loras):
        path, scale = parse_lora_spec(spec)
        if scale == 0:
            continue
        name = _adapter_name(index, path)
        try:
            with warnings.catch_warnings():  # several adapters at once are what the user asked for
                warnings.filterwarnings("ignore", message="Already found a `peft_config` attribute")
                pipe.load_lora_weights(load_file(str(path)), adapter_name=name)
        except Exception as e:  # diffusers raises ValueError/KeyError/RuntimeError for files it cannot map
            unload_loras(pipe)
            raise UserError("generate.lora_load_failed", path=path, family=pipeline_family(pipe).label,
                            detail=e) from None
        names.append(name)
        weights.append(scale)
    if names:
        pipe.set_adapters(names, adapter_weights=weights)
    pipe._lora_studio_applied = key


def _rescale_loaded(pipe, key: list[tuple]) -> bool:
    """When the files loaded last time are asked for again at other non-zero strengths, only set the strengths."""
    applied = getattr(pipe, "_lora_studio_applied", None)
    if not applied or len(applied) != len(key) or any(a[:3] != k[:3] or a[3] == 0 or k[3] == 0
                                                      for a, k in zip(applied, key, strict=True)):
        return False
    names = [_adapter_name(index, Path(k[0])) for index, k in enumerate(key)]
    pipe.set_adapters(names, adapter_weights=[k[3] for k in key])
    pipe._lora_studio_applied = key
    return True


# ---------------------------------------------------------------- generating


def native_size(pipe) -> int:
    return int(pipe.unet.config.sample_size * pipe.vae_scale_factor)


def resolve_seed(seed: int) -> int:
    return random.randrange(MAX_SEED) if seed == -1 else seed


def _step_callback(on_step: Callable[[int, int], None] | None):
    """diffusers' callback_on_step_end, telling `on_step(done, total)` after each denoising step."""
    if on_step is None:
        return None

    def after_step(pipe, index: int, timestep, callback_kwargs: dict) -> dict:
        on_step(index + 1, len(pipe.scheduler.timesteps))
        return callback_kwargs
    return after_step


def _render(pipe, cfg: GenerateConfig, on_step: Callable[[int, int], None] | None = None,
            ) -> list[tuple[object, str]]:
    """Run the pipe as it is (adapters already in place)."""
    adapters = [parse_lora_spec(spec) for spec in cfg.loras]
    hashes = lora_hashes(adapters)
    seed = resolve_seed(cfg.seed)
    width, height = cfg.width or native_size(pipe), cfg.height or native_size(pipe)
    pipe.scheduler = sampler_scheduler(cfg.sampler, _base_scheduler_config(pipe))
    # One CPU generator per image (seed, seed+1, ... like A1111): the same seed gives the same image on any device.
    generators = [torch.Generator("cpu").manual_seed(seed + i) for i in range(cfg.batch_size)]
    with torch.no_grad(), graphed_unet(pipe.unet) if cfg.cuda_graphs else contextlib.nullcontext():
        images = pipe(
            prompt=cfg.prompt, negative_prompt=cfg.negative_prompt or None, num_inference_steps=cfg.steps,
            guidance_scale=cfg.guidance_scale, width=width, height=height, num_images_per_prompt=cfg.batch_size,
            generator=generators, output_type="pil", callback_on_step_end=_step_callback(on_step),
        ).images
    return [(image, parameters_text(cfg, adapters, seed + i, width, height, hashes)) for i, image in enumerate(images)]


# One generation at a time: adapters and the scheduler are state on the shared pipeline (the studio's is shared).
_pipe_lock = threading.Lock()


def generate_images(pipe, cfg: GenerateConfig) -> list[tuple[object, str]]:
    """Images (PIL) and their parameters text; no files. With `cfg.loras` empty the pipe's adapters are untouched
    (the trainer passes its UNet with the adapter being trained)."""
    cfg.validate()
    with _pipe_lock:
        if cfg.loras:
            apply_loras(pipe, cfg.loras)
        return _render(pipe, cfg)


def generate(cfg: GenerateConfig, pipe=None, on_step: Callable[[int, int], None] | None = None) -> list[Path]:
    """Generate `cfg.batch_size` images and write them as PNGs into `cfg.out_dir`; return their paths.
    `on_step(done, total)` is told after each denoising step (the studio's progress bar)."""
    cfg.validate()
    if tiny_note(cfg.base):
        log.warning(tiny_note(cfg.base))
    if pipe is None:
        pipe = _load_for_inference(cfg.base, cfg.allow_pickle)
    cfg = dataclasses.replace(cfg, seed=resolve_seed(cfg.seed))
    with _pipe_lock:
        apply_loras(pipe, cfg.loras)  # also unloads the previous call's adapters when this call has none
        results = _render(pipe, cfg, on_step)
    return [save_png(image, params, Path(cfg.out_dir), cfg.seed + i) for i, (image, params) in enumerate(results)]
