"""The model families lora-studio trains: SD 1.x, SD 2.x (512 epsilon and 768 v), SDXL (epsilon and v-prediction).

One place knows, per family: which diffusers pipeline loads it, how captions become conditioning, its native
resolution, its prediction type and noise schedule, the hub model whose config files a single-file checkpoint
needs, the metadata kohya sd-scripts writes into a LoRA for it, and the UNet module names kohya uses.
The family is detected from the base (hub id, local diffusers folder, single-file checkpoint keys), never typed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import BaseModelError
from .text import Text

# modelspec ids (Stability AI's ModelSpec, as kohya's library/sai_model_spec.py writes them)
IMPL_DIFFUSERS = "diffusers"
IMPL_STABILITY_AI = "https://github.com/Stability-AI/generative-models"


@dataclass(frozen=True)
class Family:
    key: str                   # "sd1", "sd2", "sd2-v", "sdxl", "sdxl-v"
    label: str                 # what the studio and logs show
    xl: bool                   # two text encoders, size conditioning, StableDiffusionXLPipeline
    resolution: int            # native side in pixels: default buckets, samples, generation
    prediction_type: str       # "epsilon" or "v_prediction"
    zero_terminal_snr: bool    # betas rescaled so the last timestep is pure noise (v-prediction SDXL)
    base_model_version: str    # kohya's ss_base_model_version
    v2: bool                   # kohya's ss_v2
    architecture: str          # modelspec.architecture without the "/lora" suffix
    config_repo: str           # the hub model whose small config files diffusers needs for a single file

    @property
    def pipeline_class(self) -> str:
        return "StableDiffusionXLPipeline" if self.xl else "StableDiffusionPipeline"

    @property
    def v_parameterization(self) -> bool:
        return self.prediction_type == "v_prediction"

    def with_prediction(self, prediction_type: str | None, zero_terminal_snr: bool | None = None) -> Family:
        """This family trained with another prediction type (a setting, or what a checkpoint says)."""
        if prediction_type is None and zero_terminal_snr is None:
            return self
        v = (prediction_type or self.prediction_type) == "v_prediction"
        if self.xl:
            key = "sdxl-v" if v else "sdxl"
        else:
            key = ("sd2-v" if v else "sd2") if self.v2 else "sd1"
        ztsnr = self.zero_terminal_snr if zero_terminal_snr is None else zero_terminal_snr
        if prediction_type is not None and zero_terminal_snr is None and self.xl:
            ztsnr = v  # kohya's --v_parameterization --zero_terminal_snr go together for SDXL v-pred bases
        base = FAMILIES[key]
        return replace(base, prediction_type=prediction_type or self.prediction_type, zero_terminal_snr=ztsnr)


SD1 = Family("sd1", "Stable Diffusion 1.x", False, 512, "epsilon", False, "sd_v1", False,
             "stable-diffusion-v1", "stable-diffusion-v1-5/stable-diffusion-v1-5")
SD2 = Family("sd2", "Stable Diffusion 2.x (512)", False, 512, "epsilon", False, "sd_v2", True,
             "stable-diffusion-v2-512", "stabilityai/stable-diffusion-2-1-base")
SD2_V = Family("sd2-v", "Stable Diffusion 2.x (768-v)", False, 768, "v_prediction", False, "sd_v2_v", True,
               "stable-diffusion-v2-768-v", "stabilityai/stable-diffusion-2-1")
SDXL = Family("sdxl", "SDXL", True, 1024, "epsilon", False, "sdxl_base_v1-0", False,
              "stable-diffusion-xl-v1-base", "stabilityai/stable-diffusion-xl-base-1.0")
SDXL_V = Family("sdxl-v", "SDXL v-prediction", True, 1024, "v_prediction", True, "sdxl_base_v1-0", False,
                "stable-diffusion-xl-v1-base", "stabilityai/stable-diffusion-xl-base-1.0")
FAMILIES = {f.key: f for f in (SD1, SD2, SD2_V, SDXL, SDXL_V)}


# ---------------------------------------------------------------- adapter metadata


def adapter_metadata(family: Family, resolution: int) -> dict[str, str]:
    """The family facts kohya sd-scripts writes into a LoRA (train_network.py + sai_model_spec.py), so
    AUTOMATIC1111/Forge file the LoRA under the right checkpoints and model sites show the right base."""
    return {
        "ss_base_model_version": family.base_model_version,
        "ss_v2": str(family.v2),
        "ss_v_parameterization": str(family.v_parameterization),
        "ss_zero_terminal_snr": str(family.zero_terminal_snr),
        "modelspec.sai_model_spec": "1.0.1",
        "modelspec.architecture": f"{family.architecture}/lora",
        "modelspec.implementation": IMPL_STABILITY_AI if family.xl else IMPL_DIFFUSERS,
        "modelspec.resolution": f"{resolution}x{resolution}",
        "modelspec.prediction_type": "v" if family.v_parameterization else "epsilon",
    }


# ---------------------------------------------------------------- kohya module names


def sgm_unet_name(module: str, layers_per_block: int) -> str:
    """A diffusers SDXL UNet attention module's name in the original (Stability sgm) UNet, which kohya's SDXL
    LoRA files, ComfyUI and AUTOMATIC1111 use: down_blocks.1.attentions.0.x -> input_blocks.4.1.x."""
    per_level = layers_per_block + 1  # resnets per level, plus the downsampler (down) / the extra resnet (up)
    if m := re.match(r"down_blocks\.(\d+)\.attentions\.(\d+)\.(.+)", module):
        level, index, rest = int(m[1]), int(m[2]), m[3]
        return f"input_blocks.{level * per_level + index + 1}.1.{rest}"
    if m := re.match(r"up_blocks\.(\d+)\.attentions\.(\d+)\.(.+)", module):
        level, index, rest = int(m[1]), int(m[2]), m[3]
        return f"output_blocks.{level * per_level + index}.1.{rest}"
    if m := re.match(r"mid_block\.attentions\.0\.(.+)", module):
        return f"middle_block.1.{m[1]}"
    raise ValueError(f"{module} is not inside an attention block of the UNet")


def kohya_module_name(family: Family, module: str, layers_per_block: int = 2) -> str:
    """kohya's `lora_unet_...` name of a diffusers UNet module for this family."""
    name = sgm_unet_name(module, layers_per_block) if family.xl else module
    return "lora_unet_" + name.replace(".", "_")


# ---------------------------------------------------------------- detection

# Single-file checkpoints: a key only that family's text encoder has (diffusers uses the same ones).
_SDXL_KEY = "conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias"
_SD2_KEY = "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight"
_SD1_KEY = "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"
_V_PRED_KEY = "v_pred"  # NoobAI-XL V-Pred and other v-prediction SDXL checkpoints carry this empty tensor


def family_from_checkpoint_keys(keys: set[str], source: str = Text("families.the_checkpoint")) -> Family:
    """The family of a single-file (original layout) checkpoint from its tensor names."""
    v_pred = _V_PRED_KEY in keys
    if _SDXL_KEY in keys or any(k.startswith("conditioner.embedders.1.") for k in keys):
        return SDXL_V if v_pred else SDXL
    if _SD2_KEY in keys or any(k.startswith("cond_stage_model.model.") for k in keys):
        # Nothing in an SD 2.x file says 512 or 768-v; like diffusers, 768-v (train.prediction_type=epsilon: 512).
        return SD2_V
    if _SD1_KEY in keys or any(k.startswith("cond_stage_model.transformer.") for k in keys):
        return SD1
    raise BaseModelError("families.unknown_checkpoint", source=source)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def family_from_folder(folder: Path) -> Family:
    """The family of a diffusers pipeline folder from its model_index.json, UNet and scheduler configs."""
    index = _read_json(folder / "model_index.json")
    scheduler = _read_json(folder / "scheduler" / "scheduler_config.json")
    prediction = scheduler.get("prediction_type", "epsilon")
    if "XL" in index.get("_class_name", "") or "text_encoder_2" in index:
        family = SDXL_V if prediction == "v_prediction" else SDXL
        return replace(family, zero_terminal_snr=bool(scheduler.get("rescale_betas_zero_snr", family.zero_terminal_snr)))
    unet = _read_json(folder / "unet" / "config.json")
    if unet.get("cross_attention_dim") == 1024:
        return SD2_V if prediction == "v_prediction" else SD2
    return SD1.with_prediction(prediction)


def family_from_hub_id(repo_id: str) -> Family:
    """The family of a hub model: its cached model_index.json when there is one, else what its name says."""
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(repo_id, "model_index.json")
    except Exception:  # an odd id or cache layout: fall back to the name
        cached = None
    if isinstance(cached, str):
        return family_from_folder(Path(cached).parent)
    name = repo_id.lower()
    v_pred = bool(re.search(r"v-?pred", name))
    if re.search(r"(^|[-_/])(sdxl|xl)([-_.]|$)|xl-|illustrious|noobai|pony", name):
        return SDXL_V if v_pred else SDXL
    if "stable-diffusion-2" in name:
        return SD2 if "base" in name else SD2_V
    return SD1


def checkpoint_keys(path: Path) -> set[str]:
    """Tensor names of a checkpoint: a .safetensors header (no weights read), or a pickle checkpoint opened with
    torch's weights-only loader (runs no code) and memory-mapped; empty when that cannot read it."""
    if path.suffix.lower() != ".safetensors":
        import torch

        try:
            data = torch.load(str(path), map_location="cpu", mmap=True, weights_only=True)
        except Exception:  # an old-format or code-carrying pickle: diffusers' own loader decides later
            return set()
        state = data.get("state_dict", data) if isinstance(data, dict) else {}
        return set(state) if isinstance(state, dict) else set()
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return set(f.keys())
    except Exception as e:  # safetensors raises its own error types
        raise BaseModelError("families.checkpoint_unreadable", path=path, detail=e) from None


def detect_family(base: str, *, kind: str | None = None) -> Family:
    """The family of any base lora-studio accepts (see models.check_base for the kinds)."""
    from .models import TINY_BASES, check_base

    kind = kind or check_base(base, allow_pickle=True)
    if kind == "tiny":
        return TINY_BASES[base].family
    path = Path(base).expanduser()
    if kind == "folder":
        return family_from_folder(path)
    if kind == "file":
        keys = checkpoint_keys(path)
        return family_from_checkpoint_keys(keys, Text("families.base_checkpoint", path=path)) if keys else SD1
    return family_from_hub_id(base)
