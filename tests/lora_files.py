"""Reading LoRA files back into peft-style tensors, so tests can check what lora_studio writes against kohya's
forward by hand (W + alpha / rank * up @ down) and against diffusers' loader. The package itself never reads an
adapter's weights: generation loads them with diffusers' `load_lora_weights`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors.torch import load_file

from lora_studio.families import Family
from lora_studio.lora import KOHYA_UNET_PREFIX, _adapter_key, kohya_names

# Module path segments that contain underscores, re-joined after kohya's "every dot is an underscore".
_UNDERSCORE_WORDS = (
    "down_blocks", "up_blocks", "mid_block", "transformer_blocks", "to_q", "to_k", "to_v", "to_out",
    "proj_in", "proj_out", "time_emb_proj", "conv_shortcut", "conv_in", "conv_out", "conv_norm_out",
    "time_embedding", "linear_1", "linear_2",
)


def load_adapter_state_dict(unet: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Copy `adapter_state_dict` output back into the UNet's adapter (keeps the params' own dtype)."""
    params = {key: p for name, p in unet.named_parameters() if (key := _adapter_key(name)) is not None}
    assert params.keys() == state.keys(), "the adapter's modules differ from the state's"
    with torch.no_grad():
        for key, param in params.items():
            assert state[key].shape == param.shape, f"{key}: {tuple(state[key].shape)} vs {tuple(param.shape)}"
            param.copy_(state[key].to(device=param.device, dtype=param.dtype))


def _module_from_kohya(kohya_name: str, by_kohya_name: dict[str, str]) -> str:
    if kohya_name in by_kohya_name:
        return by_kohya_name[kohya_name]
    name = kohya_name[len(KOHYA_UNET_PREFIX):].replace("_", ".")
    for word in sorted(_UNDERSCORE_WORDS, key=len, reverse=True):
        name = re.sub(rf"(?<![^.]){re.escape(word.replace('_', '.'))}(?![^.])", word, name)
    return name


def from_kohya(kohya: dict[str, torch.Tensor], module_names: Iterable[str] | None = None,
               family: Family | None = None, layers_per_block: int = 2,
               ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """kohya UNet keys -> (peft-style state, alpha per module). A module without `.alpha` gets alpha = rank
    (scale 1, as kohya does); text-encoder keys are skipped. `module_names` (the UNet's) makes the name mapping
    exact (SDXL's original names need them and the family); without them SD names are rebuilt from known words."""
    by_kohya_name = {k: m for m, k in kohya_names(module_names or (), family, layers_per_block).items()}
    state: dict[str, torch.Tensor] = {}
    alphas: dict[str, float] = {}
    for key, value in kohya.items():
        name, _, kind = key.partition(".")
        if not name.startswith(KOHYA_UNET_PREFIX):
            continue
        module = _module_from_kohya(name, by_kohya_name)
        part = {"lora_down.weight": "lora_A", "lora_up.weight": "lora_B"}.get(kind)
        if part is not None:
            state[f"{module}.{part}.weight"] = value
        else:
            assert kind == "alpha", f"kohya key {key} is not a plain LoRA weight"
            alphas[module] = float(value.item())
    for key, value in state.items():
        if key.endswith(".lora_A.weight"):
            alphas.setdefault(key[: -len(".lora_A.weight")], float(value.shape[0]))
    return state, alphas


def read_lora_file(path: str | Path, module_names: Iterable[str] | None = None, family: Family | None = None,
                   layers_per_block: int = 2) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """A kohya or diffusers LoRA file as (peft-style UNet state, alpha per module)."""
    raw = load_file(str(path))
    if any(k.startswith(KOHYA_UNET_PREFIX) for k in raw):
        return from_kohya(raw, module_names, family, layers_per_block)
    state = {key.removeprefix("unet.").replace(".lora.down.", ".lora_A.").replace(".lora.up.", ".lora_B."): value
             for key, value in raw.items() if key.startswith("unet.")}
    assert state, f"{path} holds no UNet LoRA weights"
    alphas = {k[: -len(".lora_A.weight")]: float(v.shape[0]) for k, v in state.items() if k.endswith(".lora_A.weight")}
    return state, alphas
