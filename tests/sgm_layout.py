"""A diffusers SDXL pipeline's weights in the original (Stability sgm) single-file layout, as Illustrious, NoobAI and
Pony are downloaded: so the tests can load a single-file SDXL checkpoint made from tiny-sdxl, without a download.
Written from the layout diffusers' single-file loader reads (its DIFFUSERS_TO_LDM_MAPPING), in reverse."""

from __future__ import annotations

import re

import torch

_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1", "norm2": "out_layers.0",
           "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}
_VAE_RESNET = {"norm1": "norm1", "conv1": "conv1", "norm2": "norm2", "conv2": "conv2", "conv_shortcut": "nin_shortcut"}
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _resnet(rest: str) -> str:
    part, _, tail = rest.partition(".")
    return f"{_RESNET[part]}.{tail}"


def unet_key(key: str, unet_config) -> str:
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING

    flat = {**DIFFUSERS_TO_LDM_MAPPING["unet"]["layers"], **DIFFUSERS_TO_LDM_MAPPING["unet"]["addition_embed_type"]}
    if key in flat:
        return flat[key]
    per_level = unet_config.layers_per_block + 1
    if m := re.match(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)", key):
        n = per_level * int(m[1]) + int(m[3]) + 1
        return f"input_blocks.{n}.0.{_resnet(m[4])}" if m[2] == "resnets" else f"input_blocks.{n}.1.{m[4]}"
    if m := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key):
        return f"input_blocks.{per_level * (int(m[1]) + 1)}.0.op.{m[2]}"
    if m := re.match(r"mid_block\.resnets\.(\d)\.(.+)", key):
        return f"middle_block.{2 * int(m[1])}.{_resnet(m[2])}"
    if m := re.match(r"mid_block\.attentions\.0\.(.+)", key):
        return f"middle_block.1.{m[1]}"
    if m := re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)", key):
        n = per_level * int(m[1]) + int(m[3])
        return f"output_blocks.{n}.0.{_resnet(m[4])}" if m[2] == "resnets" else f"output_blocks.{n}.1.{m[4]}"
    if m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key):
        level = int(m[1])
        has_attention = "CrossAttn" in unet_config.up_block_types[level]
        return f"output_blocks.{per_level * level + per_level - 1}.{2 if has_attention else 1}.conv.{m[2]}"
    raise KeyError(f"no sgm name for UNet key {key}")


def vae_key(key: str, value: torch.Tensor, levels: int) -> tuple[str, torch.Tensor]:
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING

    if key in DIFFUSERS_TO_LDM_MAPPING["vae"]:
        return DIFFUSERS_TO_LDM_MAPPING["vae"][key], value
    if m := re.match(r"(encoder|decoder)\.(?:down|up)_blocks\.(\d+)\.resnets\.(\d+)\.(\w+)\.(.+)", key):
        side, level = m[1], int(m[2]) if m[1] == "encoder" else levels - 1 - int(m[2])  # the decoder counts upwards
        return f"{side}.{'down' if side == 'encoder' else 'up'}.{level}.block.{m[3]}.{_VAE_RESNET[m[4]]}.{m[5]}", value
    if m := re.match(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key):
        return f"encoder.down.{m[1]}.downsample.conv.{m[2]}", value
    if m := re.match(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key):
        return f"decoder.up.{levels - 1 - int(m[1])}.upsample.conv.{m[2]}", value
    if m := re.match(r"(encoder|decoder)\.mid_block\.resnets\.(\d)\.(\w+)\.(.+)", key):
        return f"{m[1]}.mid.block_{int(m[2]) + 1}.{_VAE_RESNET[m[3]]}.{m[4]}", value
    if m := re.match(r"(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(.+)", key):
        if m[2] != "group_norm" and m[3] == "weight":
            value = value[:, :, None, None]  # the original VAE's attention uses 1x1 convolutions
        return f"{m[1]}.mid.attn_1.{_VAE_ATTENTION[m[2]]}.{m[3]}", value
    raise KeyError(f"no ldm name for VAE key {key}")


def open_clip_state(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """transformers' CLIPTextModelWithProjection -> OpenCLIP (fused q/k/v, resblocks, transposed projection)."""
    def get(key: str) -> torch.Tensor:
        return state[key] if key in state else state[key.removeprefix("text_model.")]

    out = {
        prefix + "token_embedding.weight": get("text_model.embeddings.token_embedding.weight"),
        prefix + "positional_embedding": get("text_model.embeddings.position_embedding.weight"),
        prefix + "ln_final.weight": get("text_model.final_layer_norm.weight"),
        prefix + "ln_final.bias": get("text_model.final_layer_norm.bias"),
        prefix + "text_projection": state["text_projection.weight"].T,
    }
    layers = {int(m[1]) for k in state if (m := re.search(r"encoder\.layers\.(\d+)\.", k))}
    for i in sorted(layers):
        src, dst = f"text_model.encoder.layers.{i}.", f"{prefix}transformer.resblocks.{i}."
        for kind in ("weight", "bias"):
            out[dst + f"attn.in_proj_{kind}"] = torch.cat([get(src + f"self_attn.{p}_proj.{kind}") for p in "qkv"])
            for ours, theirs in (("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"),
                                 ("layer_norm2", "ln_2"), ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")):
                out[dst + f"{theirs}.{kind}"] = get(src + f"{ours}.{kind}")
    return out


def sdxl_single_file_state(pipe) -> dict[str, torch.Tensor]:
    """The whole pipeline as one original-layout state dict (UNet, VAE, both text encoders)."""
    out = {"model.diffusion_model." + unet_key(k, pipe.unet.config): v for k, v in pipe.unet.state_dict().items()}
    levels = len(pipe.vae.config.down_block_types)
    for key, value in pipe.vae.state_dict().items():
        name, value = vae_key(key, value, levels)
        out["first_stage_model." + name] = value
    for key, value in pipe.text_encoder.state_dict().items():
        out["conditioner.embedders.0.transformer." + (key if key.startswith("text_model.") else "text_model." + key)] = value
    out.update(open_clip_state(pipe.text_encoder_2.state_dict(), "conditioner.embedders.1.model."))
    return {k: v.contiguous() for k, v in out.items()}
