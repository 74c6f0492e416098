"""Load a Stable Diffusion base: hub id, local diffusers folder, single-file checkpoint, or an offline tiny base.

`tiny` (SD 1.x-shaped) and `tiny-sdxl` (SDXL-shaped) are small pipelines built from configs with a fixed seed
and tokenizers written locally. They never touch the network and exist for smoke runs and tests: their images
are noise. Which pipeline class loads a base is its family's business (families.py).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from .atomic import atomic_dir
from .errors import BaseModelError
from .families import SD1, SD2, SDXL, Family, detect_family
from .text import Text

log = logging.getLogger(__name__)

TINY = "tiny"
TINY_SDXL = "tiny-sdxl"
TINY_VERSION = "tiny-sd-v1"
TINY_NOTE = Text("models.tiny_note")
SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")


def cache_root() -> Path:
    return Path(os.environ.get("LORA_STUDIO_CACHE", Path.home() / ".cache" / "lora-studio"))


# ---------------------------------------------------------------- the offline tiny base


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte-level alphabet: every byte maps to a printable character."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def write_tiny_tokenizer(folder: Path) -> int:
    """A CLIP tokenizer with byte-level characters and a few merges; returns the vocab size."""
    chars = list(_bytes_to_unicode().values())
    vocab_list = chars + [c + "</w>" for c in chars]
    merges = []
    # A handful of merges so common tag words become fewer tokens (any valid BPE works here).
    for word in ("girl", "hair", "green", "smile", "blue", "eyes", "solo", "char"):
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        while len(parts) > 1:
            a, b = parts[0], parts[1]
            merges.append(f"{a} {b}")
            parts = [a + b] + parts[2:]
            if parts[0] not in vocab_list:
                vocab_list.append(parts[0])
    vocab_list += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(vocab_list))}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(dict.fromkeys(merges)) + "\n", encoding="utf-8")
    return len(vocab)


def build_tiny_pipeline(folder: Path) -> None:
    """Build the tiny pipeline from configs with seed 0 and save it to `folder` (diffusers layout)."""
    from diffusers import AutoencoderKL, DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    tok_dir = folder / "_tok"
    vocab_size = write_tiny_tokenizer(tok_dir)
    tokenizer = CLIPTokenizer.from_pretrained(tok_dir, model_max_length=77)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        unet = UNet2DConditionModel(
            sample_size=32, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(32, 64),
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32, attention_head_dim=8, norm_num_groups=32,
        )
        vae = AutoencoderKL(
            block_out_channels=(32, 64), in_channels=3, out_channels=3, latent_channels=4, sample_size=64,
            down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        )
        text_encoder = CLIPTextModel(CLIPTextConfig(
            hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, projection_dim=32,
            vocab_size=vocab_size, max_position_embeddings=77, layer_norm_eps=1e-5,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        ))
    scheduler = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              num_train_timesteps=1000, clip_sample=False, prediction_type="epsilon",
                              steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    shutil.rmtree(tok_dir)
    (folder / "LORA_STUDIO_TINY.txt").write_text(TINY_NOTE + "\n", encoding="utf-8")


@dataclass(frozen=True)
class TinyBase:
    version: str  # the cache folder's name: a new layout gets a new name
    family: Family
    note: str

    def build(self, folder: Path) -> None:
        if self.family.xl:
            from .tiny_sdxl import build_tiny_sdxl_pipeline

            build_tiny_sdxl_pipeline(folder, self.note)
        else:
            build_tiny_pipeline(folder)


TINY_BASES = {
    TINY: TinyBase(TINY_VERSION, SD1, TINY_NOTE),
    TINY_SDXL: TinyBase("tiny-sdxl-v2", SDXL, Text("models.tiny_sdxl_note")),
}


def tiny_path(name: str = TINY) -> Path:
    """A tiny pipeline's folder, built once into the cache (atomically, so a crash leaves no half copy)."""
    tiny = TINY_BASES[name]
    folder = cache_root() / tiny.version
    if not (folder / "model_index.json").is_file():
        with atomic_dir(folder) as tmp:
            tiny.build(tmp)
    return folder


def tiny_note(base: str) -> str | None:
    """What to tell a user of a tiny base (None for real bases)."""
    return TINY_BASES[base].note if base in TINY_BASES else None


# ---------------------------------------------------------------- resolving a base


def check_base(base: str, *, allow_pickle: bool = False) -> str:
    """What kind of base this is ("tiny", "folder", "file" or "hub"), or a BaseModelError saying what is wrong.

    Cheap (no weights are read), so the CLI and the studio call it before starting a training process."""
    if not base:
        raise BaseModelError("models.base_empty")
    if base in TINY_BASES:
        return "tiny"
    path = Path(base).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise BaseModelError("models.no_model_index", path=path)
        return "folder"
    if path.suffix.lower() in SINGLE_FILE_SUFFIXES:
        if not path.is_file():
            raise BaseModelError("models.checkpoint_missing", path=path)
        if path.suffix.lower() in PICKLE_SUFFIXES and not allow_pickle:
            raise BaseModelError("models.pickle", path=path)
        return "file"
    if base.count("/") != 1 or base.startswith((".", "/")):
        raise BaseModelError("models.unknown_base", base=base)
    return "hub"


def load_pipeline(base: str, *, allow_pickle: bool = False, dtype: torch.dtype = torch.float32):
    """The diffusers pipeline of `base` (see module docstring for what `base` may be), of its family's class;
    `pipeline_family(pipe)` tells the family."""
    import diffusers

    kind = check_base(base, allow_pickle=allow_pickle)
    family = detect_family(base, kind=kind)
    pipeline_class = getattr(diffusers, family.pipeline_class)
    common = dict(dtype=dtype) if family.xl else dict(dtype=dtype, safety_checker=None, requires_safety_checker=False)
    path = Path(base).expanduser()
    if kind == "tiny":
        pipe = pipeline_class.from_pretrained(tiny_path(base), dtype=dtype)
    elif kind == "folder":
        pipe = pipeline_class.from_pretrained(path, **common)
    elif kind == "file":
        try:
            # Single files carry only weights; diffusers reads the configs of the family's hub model (small json
            # files), fetched the first time and then from the local cache (HF_HUB_OFFLINE=1 works after that).
            pipe = pipeline_class.from_single_file(str(path), config=family.config_repo, **common)
        except (OSError, ValueError) as e:
            raise BaseModelError("models.single_file_failed", path=path, family=family.label,
                                 detail=str(e).rstrip("."), repo=family.config_repo) from None
    else:
        try:
            # The class comes from the model's own model_index.json (the family was guessed from the name when
            # the model is not in the cache yet).
            pipe = diffusers.DiffusionPipeline.from_pretrained(base, **common)
        except OSError as e:
            raise BaseModelError("models.offline", base=base, kind=type(e).__name__) from None
    if kind == "file":
        set_noise_schedule(pipe, family)  # the file's own marks (v_pred, ztsnr) over the hub model's scheduler
    else:
        family = family_from_pipe(pipe)
    # Sampling runs inside our own progress (the training bar, the studio's); diffusers' per-step bar would
    # print over it.
    pipe.set_progress_bar_config(disable=True)
    pipe._lora_studio_family = family
    return pipe


def set_noise_schedule(pipe, family: Family) -> None:
    """The family's prediction type (and zero-terminal-SNR betas) on the pipe's scheduler, only where it differs
    (a single file of a v-prediction SDXL loads with an epsilon scheduler config)."""
    config = pipe.scheduler.config
    changes = {}
    if config.get("prediction_type") != family.prediction_type:
        changes["prediction_type"] = family.prediction_type
    if family.zero_terminal_snr and not config.get("rescale_betas_zero_snr"):
        # diffusers' advice for zero-terminal-SNR models: timesteps from the end, so sampling starts at pure noise
        changes.update(rescale_betas_zero_snr=True, timestep_spacing="trailing")
    if changes:
        pipe.scheduler = type(pipe.scheduler).from_config({**config, **changes})


def family_from_pipe(pipe) -> Family:
    """The family of a loaded pipeline, from its own configs."""
    scheduler = pipe.scheduler.config
    if hasattr(pipe, "text_encoder_2"):
        family = SDXL
    else:
        family = SD2 if pipe.unet.config.cross_attention_dim == 1024 else SD1
    return family.with_prediction(scheduler.get("prediction_type", "epsilon"),
                                  bool(scheduler.get("rescale_betas_zero_snr", False)))


def pipeline_family(pipe) -> Family:
    """The family a pipe was loaded as (load_pipeline records it); from its configs for pipes made elsewhere."""
    return getattr(pipe, "_lora_studio_family", None) or family_from_pipe(pipe)


def is_tiny(base: str) -> bool:
    return base in TINY_BASES


def place(module: torch.nn.Module, device: torch.device | str, dtype: torch.dtype | None = None) -> None:
    """Move a frozen component; cast only when the dtype really changes (diffusers warns on every cast)."""
    current = next(module.parameters()).dtype
    module.to(device) if dtype is None or dtype == current else module.to(device, dtype)
