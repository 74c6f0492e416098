"""LoRA adapters on the UNet: inject (peft), save them in kohya and diffusers layouts, read their metadata.

One adapter, named "default", lives in the UNet while training. It is saved twice:
- `outputs/<run>/<run>.safetensors` in kohya's format (what AUTOMATIC1111, ComfyUI and Civitai expect):
  `lora_unet_<module_with_underscores>.lora_down.weight` / `.lora_up.weight` / `.alpha`, plus `ss_*` metadata;
- `outputs/<run>/diffusers/pytorch_lora_weights.safetensors` for `pipe.load_lora_weights(...)`. That format
  carries no alpha, so the scale alpha / rank is folded into lora_B there (any loader then gets the same update).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .atomic import atomic_dir, atomic_path
from .config import LoraSettings
from .errors import ConfigError, UserError
from .families import Family, kohya_module_name

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


# ---------------------------------------------------------------- kohya <-> peft

def _kohya_name(module: str) -> str:
    return KOHYA_UNET_PREFIX + module.replace(".", "_")


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
