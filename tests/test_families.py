"""Model families: detection from hub ids, local folders and single-file keys (all built here, no download), the
metadata kohya sd-scripts writes per family, and kohya's SDXL module names and count."""

from __future__ import annotations

import json
import re

import pytest
import torch
from safetensors.torch import save_file

from lora_studio.errors import BaseModelError
from lora_studio.families import (
    SD1,
    SD2,
    SD2_V,
    SDXL,
    SDXL_V,
    adapter_metadata,
    detect_family,
    family_from_checkpoint_keys,
    family_from_hub_id,
    kohya_module_name,
)


def _folder(tmp_path, name, class_name, cross_attention_dim, prediction="epsilon", **scheduler):
    folder = tmp_path / name
    (folder / "unet").mkdir(parents=True)
    (folder / "scheduler").mkdir()
    index = {"_class_name": class_name, "unet": ["diffusers", "UNet2DConditionModel"]}
    if "XL" in class_name:
        index["text_encoder_2"] = ["transformers", "CLIPTextModelWithProjection"]
    (folder / "model_index.json").write_text(json.dumps(index))
    (folder / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": cross_attention_dim}))
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps({"prediction_type": prediction, **scheduler}))
    return str(folder)


@pytest.mark.parametrize("class_name, dim, prediction, scheduler, expected", [
    ("StableDiffusionPipeline", 768, "epsilon", {}, SD1),
    ("StableDiffusionPipeline", 1024, "epsilon", {}, SD2),
    ("StableDiffusionPipeline", 1024, "v_prediction", {}, SD2_V),
    ("StableDiffusionXLPipeline", 2048, "epsilon", {}, SDXL),
    ("StableDiffusionXLPipeline", 2048, "v_prediction", {"rescale_betas_zero_snr": True}, SDXL_V),
])
def test_family_from_a_local_diffusers_folder(tmp_path, class_name, dim, prediction, scheduler, expected):
    assert detect_family(_folder(tmp_path, "base", class_name, dim, prediction, **scheduler)) == expected


def _checkpoint(tmp_path, name, keys):
    path = tmp_path / f"{name}.safetensors"
    save_file({k: torch.zeros(1) for k in keys}, str(path))
    return str(path)


SDXL_KEYS = ["conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight",
             "conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias",
             "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn1.to_q.weight"]


@pytest.mark.parametrize("keys, expected", [
    (["cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"], SD1),
    (["cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight"], SD2_V),
    (SDXL_KEYS, SDXL),
    (SDXL_KEYS + ["v_pred", "ztsnr"], SDXL_V),  # how NoobAI-XL V-Pred's single file says it
])
def test_family_from_a_single_files_keys(tmp_path, keys, expected):
    assert detect_family(_checkpoint(tmp_path, "model", keys)) == expected


def test_a_checkpoint_of_another_family_is_named_and_refused():
    with pytest.raises(BaseModelError, match="'x.safetensors' is not a Stable Diffusion 1.x, 2.x or SDXL"):
        family_from_checkpoint_keys({"transformer_blocks.0.weight"}, "'x.safetensors'")


@pytest.mark.parametrize("repo, expected", [
    ("stable-diffusion-v1-5/stable-diffusion-v1-5", SD1),
    ("stabilityai/stable-diffusion-2-1-base", SD2),
    ("stabilityai/stable-diffusion-2-1", SD2_V),
    ("stabilityai/stable-diffusion-xl-base-1.0", SDXL),
    ("OnomaAIResearch/Illustrious-xl-early-release-v0", SDXL),
    ("Laxhar/noobai-XL-1.1", SDXL),
    ("Laxhar/noobai-XL-Vpred-1.0", SDXL_V),
])
def test_family_from_a_hub_id_that_is_not_cached(repo, expected):
    assert family_from_hub_id(repo) == expected


def test_tiny_bases_have_their_family():
    assert detect_family("tiny") == SD1 and detect_family("tiny-sdxl") == SDXL


# What kohya sd-scripts writes (train_network.py's ss_* keys, library/sai_model_spec.py's modelspec.*).
@pytest.mark.parametrize("family, version, v2, v_param, arch, resolution", [
    (SD1, "sd_v1", "False", "False", "stable-diffusion-v1/lora", "512x512"),
    (SD2, "sd_v2", "True", "False", "stable-diffusion-v2-512/lora", "512x512"),
    (SD2_V, "sd_v2_v", "True", "True", "stable-diffusion-v2-768-v/lora", "768x768"),
    (SDXL, "sdxl_base_v1-0", "False", "False", "stable-diffusion-xl-v1-base/lora", "1024x1024"),
    (SDXL_V, "sdxl_base_v1-0", "False", "True", "stable-diffusion-xl-v1-base/lora", "1024x1024"),
])
def test_metadata_each_family_writes(family, version, v2, v_param, arch, resolution):
    meta = adapter_metadata(family, family.resolution)
    assert meta["ss_base_model_version"] == version
    assert meta["ss_v2"] == v2 and meta["ss_v_parameterization"] == v_param
    assert meta["modelspec.architecture"] == arch and meta["modelspec.resolution"] == resolution
    assert meta["modelspec.prediction_type"] == ("v" if v_param == "True" else "epsilon")
    assert meta["modelspec.implementation"] == ("https://github.com/Stability-AI/generative-models" if family.xl
                                                else "diffusers")
    assert meta["ss_zero_terminal_snr"] == str(family is SDXL_V)


def test_a_prediction_setting_moves_a_base_to_the_matching_family():
    assert SDXL.with_prediction("v_prediction") == SDXL_V  # zero terminal SNR comes with it, as kohya's pair
    assert SD2_V.with_prediction("epsilon") == SD2
    assert SDXL.with_prediction("v_prediction", False).zero_terminal_snr is False
    assert SD1.with_prediction(None) is SD1


def sdxl_meta_unet():
    from diffusers import UNet2DConditionModel

    from lora_studio.tiny_sdxl import SDXL_UNET_CONFIG

    with torch.device("meta"):  # SDXL 1.0's layer layout only: no memory, no weights
        return UNet2DConditionModel(**SDXL_UNET_CONFIG)


def test_sdxl_unet_gets_kohyas_722_modules_with_kohyas_names():
    """kohya's networks/lora.py on SDXL: every Linear/1x1 conv in the 11 Transformer2DModel blocks (70 transformer
    layers x 10 + proj_in/proj_out x 11 = 722), named by the original SDXL UNet's paths."""
    from lora_studio.lora import kohya_names, resolve_targets

    unet = sdxl_meta_unet()
    modules = resolve_targets(unet, "default")
    assert len(modules) == 722
    assert len(resolve_targets(unet, "attn")) == 70 * 2 * 4
    names = kohya_names(modules, SDXL, unet.config.layers_per_block)
    assert len(set(names.values())) == 722
    assert names["down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q"] == \
        "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q"
    assert names["down_blocks.2.attentions.1.proj_out"] == "lora_unet_input_blocks_8_1_proj_out"
    assert names["mid_block.attentions.0.transformer_blocks.9.ff.net.2"] == \
        "lora_unet_middle_block_1_transformer_blocks_9_ff_net_2"
    assert names["up_blocks.0.attentions.2.transformer_blocks.3.attn2.to_out.0"] == \
        "lora_unet_output_blocks_2_1_transformer_blocks_3_attn2_to_out_0"
    assert names["up_blocks.1.attentions.0.proj_in"] == "lora_unet_output_blocks_3_1_proj_in"
    # kohya's block numbering: input_blocks 4,5,7,8 / middle_block / output_blocks 0-5 carry attention
    blocks = {re.match(r"(lora_unet_(input_blocks_\d+|middle_block|output_blocks_\d+))_1_", n)[1] for n in names.values()}
    assert blocks == {f"lora_unet_input_blocks_{i}" for i in (4, 5, 7, 8)} | {"lora_unet_middle_block"} | \
        {f"lora_unet_output_blocks_{i}" for i in range(6)}


def test_sd_names_stay_the_diffusers_paths():
    assert kohya_module_name(SD1, "down_blocks.0.attentions.1.proj_in") == "lora_unet_down_blocks_0_attentions_1_proj_in"


def test_a_pickle_checkpoints_family_is_read_without_running_its_code(tmp_path):
    path = tmp_path / "pony.ckpt"
    torch.save({"state_dict": {k: torch.zeros(1) for k in SDXL_KEYS}}, path)
    assert detect_family(str(path)) == SDXL
