"""LoRA adapters on the UNet: inject (peft), read and write them, convert between peft, kohya and diffusers keys.

One adapter, named "default", lives in the UNet while training. It is saved twice:
- `outputs/<run>/<run>.safetensors` in kohya's format (what AUTOMATIC1111, ComfyUI and Civitai expect):
  `lora_unet_<module_with_underscores>.lora_down.weight` / `.lora_up.weight` / `.alpha`, plus `ss_*` metadata;
- `outputs/<run>/diffusers/pytorch_lora_weights.safetensors` for `pipe.load_lora_weights(...)`. That format
  carries no alpha, so the scale alpha / rank is folded into lora_B there (any loader then gets the same update).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from .atomic import atomic_dir, atomic_path
from .config import LoraSettings
from .errors import ConfigError, UserError
from .families import Family, kohya_module_name

log = logging.getLogger(__name__)

ADAPTER = "default"
DIFFUSERS_SUBDIR = "diffusers"
DIFFUSERS_WEIGHT_NAME = "pytorch_lora_weights.safetensors"
SAVE_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

# Suffixes of the layers inside the UNet's attention (Transformer2DModel) blocks. "default" is kohya's choice:
# every linear / 1x1 conv there (192 modules on SD1.5); "attn" is the diffusers example's q/k/v/out (128).
DEFAULT_TARGETS: tuple[str, ...] = (
    "proj_in", "proj_out",
    "attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0",
    "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0",
    "ff.net.0.proj", "ff.net.2",
)
ATTN_TARGETS: tuple[str, ...] = ("to_q", "to_k", "to_v", "to_out.0")
PRESETS = {"default": DEFAULT_TARGETS, "attn": ATTN_TARGETS}

KOHYA_UNET_PREFIX = "lora_unet_"


# ---------------------------------------------------------------- injecting


def _is_lora_target_layer(module: torch.nn.Module) -> bool:
    """A linear layer or a 1x1 conv (also when peft has already wrapped it)."""
    layer = getattr(module, "base_layer", module)
    if isinstance(layer, torch.nn.Linear):
        return True
    return isinstance(layer, torch.nn.Conv2d) and tuple(layer.kernel_size) == (1, 1)


def resolve_targets(unet: torch.nn.Module, preset: str) -> list[str]:
    """Full names of the UNet modules a preset adapts, only inside attention blocks, in model order."""
    if preset not in PRESETS:
        raise ConfigError("lora.bad_targets", value=preset, allowed=", ".join(PRESETS))
    suffixes = PRESETS[preset]
    names = [
        name for name, module in unet.named_modules()
        if ".attentions." in name and name.endswith(tuple("." + s for s in suffixes)) and _is_lora_target_layer(module)
    ]
    if not names:
        raise UserError("lora.no_target_blocks", value=preset, suffixes=", ".join(suffixes))
    return names


def add_lora(unet: torch.nn.Module, settings: LoraSettings) -> list[torch.nn.Parameter]:
    """Freeze the UNet, inject a fresh adapter (B = 0: it changes nothing yet), return its fp32 trainable params."""
    from peft import LoraConfig

    unet.requires_grad_(False)
    config = LoraConfig(
        r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
        init_lora_weights=True, target_modules=resolve_targets(unet, settings.targets),
    )
    unet.add_adapter(config, adapter_name=ADAPTER)
    params = []
    for name, param in unet.named_parameters():
        if _adapter_key(name) is None:
            continue
        # The base may be fp16/bf16 to save memory; adapters train in fp32 (peft casts inputs to their dtype).
        param.data = param.data.to(torch.float32)
        param.requires_grad_(True)
        params.append(param)
    return params


# ---------------------------------------------------------------- peft state dicts


def _adapter_key(param_name: str, adapter: str = ADAPTER) -> str | None:
    """`x.lora_A.default.weight` -> `x.lora_A.weight`; None for anything that is not this adapter's."""
    while param_name.startswith(("module.", "_orig_mod.")):  # a DDP- or torch.compile-wrapped UNet
        param_name = param_name.split(".", 1)[1]
    for part in ("lora_A", "lora_B"):
        marker = f".{part}.{adapter}."
        if marker in param_name:
            return param_name.replace(marker, f".{part}.", 1)
    return None


def adapter_state_dict(unet: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The adapter's weights with peft keys without the adapter name (detached copies)."""
    state = {}
    for name, param in unet.named_parameters():
        key = _adapter_key(name)
        if key is not None:
            state[key] = param.detach().clone()
    if not state:
        raise UserError("lora.no_adapter")
    return state


def load_adapter_state_dict(unet: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Copy `adapter_state_dict` output back into the UNet's adapter (keeps the params' own dtype)."""
    params = {key: p for name, p in unet.named_parameters() if (key := _adapter_key(name)) is not None}
    missing, unexpected = sorted(set(params) - set(state)), sorted(set(state) - set(params))
    if missing or unexpected:
        raise UserError("lora.adapter_mismatch", missing=len(missing), missing_example=missing[:1],
                        unexpected=len(unexpected), unexpected_example=unexpected[:1])
    with torch.no_grad():
        for key, param in params.items():
            value = state[key]
            if value.shape != param.shape:
                raise UserError("lora.weight_shape", key=key, shape=tuple(value.shape),
                                expected=tuple(param.shape))
            param.copy_(value.to(device=param.device, dtype=param.dtype))


# ---------------------------------------------------------------- kohya <-> peft

# Module path segments that contain underscores, re-joined after kohya's "every dot is an underscore".
_UNDERSCORE_WORDS = (
    "down_blocks", "up_blocks", "mid_block", "transformer_blocks", "to_q", "to_k", "to_v", "to_out",
    "proj_in", "proj_out", "time_emb_proj", "conv_shortcut", "conv_in", "conv_out", "conv_norm_out",
    "time_embedding", "linear_1", "linear_2",
)


def _kohya_name(module: str) -> str:
    return KOHYA_UNET_PREFIX + module.replace(".", "_")


def _module_from_kohya(kohya_name: str, by_kohya_name: dict[str, str]) -> str:
    if kohya_name in by_kohya_name:
        return by_kohya_name[kohya_name]
    name = kohya_name[len(KOHYA_UNET_PREFIX):].replace("_", ".")
    for word in sorted(_UNDERSCORE_WORDS, key=len, reverse=True):
        name = re.sub(rf"(?<![^.]){re.escape(word.replace('_', '.'))}(?![^.])", word, name)
    return name


def kohya_names(module_names: Iterable[str], family: Family | None = None, layers_per_block: int = 2,
                ) -> dict[str, str]:
    """UNet module -> kohya's `lora_unet_...` name: the diffusers path for SD 1.x/2.x, the original SDXL UNet's
    path for SDXL (`lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q`), as kohya's networks/lora.py,
    ComfyUI and AUTOMATIC1111 name them."""
    if family is None or not family.xl:
        return {m: _kohya_name(m) for m in module_names}
    return {m: kohya_module_name(family, m, layers_per_block) for m in module_names}


def to_kohya(state: dict[str, torch.Tensor], alpha: float, names: dict[str, str] | None = None,
             ) -> dict[str, torch.Tensor]:
    """peft keys (`x.lora_A.weight`, optionally prefixed `unet.`) -> kohya keys with one `.alpha` per module.
    `names` (from kohya_names) gives the kohya name per module; without it, SD 1.x/2.x names."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        key = key.removeprefix("unet.")
        for part, kohya_part in (("lora_A", "lora_down"), ("lora_B", "lora_up")):
            suffix = f".{part}.weight"
            if key.endswith(suffix):
                module = key[: -len(suffix)]
                name = names[module] if names is not None else _kohya_name(module)
                out[f"{name}.{kohya_part}.weight"] = value.contiguous()
                out[f"{name}.alpha"] = torch.tensor(float(alpha), dtype=torch.float32)
                break
        else:
            raise ValueError(f"not a LoRA weight key: {key}")
    return out


def from_kohya(kohya: dict[str, torch.Tensor], module_names: Iterable[str] | None = None,
               family: Family | None = None, layers_per_block: int = 2,
               ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """kohya UNet keys -> (peft-style state, alpha per module). A module without `.alpha` gets alpha = rank
    (scale 1, as kohya does). Text-encoder keys (lora_te_, lora_te1_, lora_te2_) are skipped. `module_names`
    (the UNet's) makes the name mapping exact (SDXL's original names need them and the family); without them,
    SD UNet names are rebuilt from known words."""
    by_kohya_name = {k: m for m, k in kohya_names(module_names or (), family, layers_per_block).items()}
    state: dict[str, torch.Tensor] = {}
    alphas: dict[str, float] = {}
    skipped = 0
    for key, value in kohya.items():
        name, _, kind = key.partition(".")
        if not name.startswith(KOHYA_UNET_PREFIX):
            skipped += 1
            continue
        module = _module_from_kohya(name, by_kohya_name)
        if kind == "lora_down.weight":
            state[f"{module}.lora_A.weight"] = value
        elif kind == "lora_up.weight":
            state[f"{module}.lora_B.weight"] = value
        elif kind == "alpha":
            alphas[module] = float(value.item())
        else:
            raise UserError("lora.not_plain", key=key)
    if skipped:
        log.info("skipped %d non-UNet (text encoder) keys of the kohya file", skipped)
    for key, value in state.items():
        if key.endswith(".lora_A.weight"):
            alphas.setdefault(key[: -len(".lora_A.weight")], float(value.shape[0]))
    return state, alphas


def read_lora_file(path: str | Path, module_names: Iterable[str] | None = None, family: Family | None = None,
                   layers_per_block: int = 2) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """Read a kohya or diffusers LoRA file as (peft-style UNet state, alpha per module)."""
    path = Path(path)
    if not path.is_file():
        raise UserError("lora.file_missing", path=path)
    try:
        raw = load_file(str(path))
    except Exception as e:  # safetensors raises its own error types for a file that is not one
        raise UserError("lora.file_unreadable", path=path, detail=e) from None
    if any(k.startswith(KOHYA_UNET_PREFIX) for k in raw):
        return from_kohya(raw, module_names, family, layers_per_block)
    state = {}
    for key, value in raw.items():
        if not key.startswith("unet."):
            continue
        key = key.removeprefix("unet.").replace(".lora.down.", ".lora_A.").replace(".lora.up.", ".lora_B.")
        state[key] = value
    if not state:
        raise UserError("lora.no_unet_weights", path=path)
    alphas = {k[: -len(".lora_A.weight")]: float(v.shape[0]) for k, v in state.items() if k.endswith(".lora_A.weight")}
    return state, alphas


# ---------------------------------------------------------------- saving


def _metadata_strings(metadata: dict) -> dict[str, str]:
    """safetensors metadata must be strings: dicts/lists as JSON, scalars as kohya writes them (str())."""
    out = {}
    for key, value in metadata.items():
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, (dict, list, tuple)):
            out[key] = json.dumps(value, ensure_ascii=False)
        else:
            out[key] = str(value)  # True -> "True", 16 -> "16", 8.0 -> "8.0", as kohya's sd-scripts
    return out


def save_lora(unet: torch.nn.Module, run_dir: Path, name: str, settings: LoraSettings, metadata: dict,
              save_dtype: str = "fp32", family: Family | None = None, file_name: str | None = None) -> Path:
    """Write `<run_dir>/<name>.safetensors` (kohya) and `<run_dir>/diffusers/pytorch_lora_weights.safetensors`;
    return the kohya path. `metadata` holds the ss_* training facts; the network ones come from `settings`;
    `family` (SD 1.x when not given) picks kohya's module names and the diffusers pipeline class. With `file_name`
    (a per-epoch adapter) only that kohya file is written, as kohya's sd-scripts does."""
    import diffusers

    if save_dtype not in SAVE_DTYPES:
        raise ConfigError("lora.bad_save_dtype", value=save_dtype, allowed=", ".join(SAVE_DTYPES))
    dtype = SAVE_DTYPES[save_dtype]
    run_dir = Path(run_dir)
    state = {k: v.to("cpu", torch.float32) for k, v in adapter_state_dict(unet).items()}

    meta = _metadata_strings({
        "ss_network_module": "networks.lora", "ss_v2": False, **metadata,
        "ss_network_dim": settings.rank, "ss_network_alpha": settings.alpha, "ss_output_name": name,
    })
    modules = {k.rsplit(".lora_", 1)[0] for k in state}
    names = kohya_names(modules, family, getattr(getattr(unet, "config", None), "layers_per_block", 2))
    kohya = {k: (v if k.endswith(".alpha") else v.to(dtype)).contiguous()
             for k, v in to_kohya(state, settings.alpha, names).items()}
    kohya_path = run_dir / (file_name or f"{name}.safetensors")
    with atomic_path(kohya_path) as tmp:
        save_file(kohya, str(tmp), metadata=meta)
    if file_name:
        return kohya_path

    # diffusers infers alpha = rank from the shapes, so the scale goes into lora_B.
    scale = settings.alpha / settings.rank
    folded = {k: ((v * scale) if ".lora_B." in k else v).to(dtype).contiguous() for k, v in state.items()}
    with atomic_dir(run_dir / DIFFUSERS_SUBDIR) as tmp_dir:
        pipeline_class = getattr(diffusers, family.pipeline_class if family else "StableDiffusionPipeline")
        pipeline_class.save_lora_weights(tmp_dir, unet_lora_layers=folded, weight_name=DIFFUSERS_WEIGHT_NAME,
                                         safe_serialization=True)
    return kohya_path


def read_lora_metadata(path: Path) -> dict[str, str]:
    """The safetensors metadata (kohya's ss_* strings) of a LoRA file; {} when it has none."""
    path = Path(path)
    if not path.is_file():
        raise UserError("lora.file_missing", path=path)
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as e:  # safetensors raises its own error types for a file that is not one
        raise UserError("lora.file_unreadable", path=path, detail=e) from None
