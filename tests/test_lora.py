"""Adapters on the tiny UNet: which layers, frozen base, fp32 adapters, kohya/diffusers files that keep the scale."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from lora_studio.config import LoraSettings
from lora_studio.errors import UserError
from lora_studio.lora import (
    adapter_state_dict,
    add_lora,
    from_kohya,
    load_adapter_state_dict,
    read_lora_file,
    read_lora_metadata,
    resolve_targets,
    save_lora,
    to_kohya,
)
from lora_studio.models import load_pipeline


@pytest.fixture
def unet(tiny_base_path):
    return load_pipeline("tiny").unet


def fill_adapter(unet, seed: int = 0) -> None:
    """Make the fresh adapter look trained: random lora_B (it starts at 0 and would change nothing)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in unet.named_parameters():
            if ".lora_B." in name:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.3)


def unet_output(unet) -> torch.Tensor:
    gen = torch.Generator().manual_seed(123)
    latents = torch.randn(1, 4, 8, 8, generator=gen)
    text = torch.randn(1, 8, 32, generator=gen)
    with torch.no_grad():
        return unet(latents.to(unet.dtype), 10, text.to(unet.dtype)).sample


def merge_by_hand(unet, state: dict, alphas: dict) -> None:
    """W += alpha / rank * B @ A for every module: the LoRA update written out, no peft, no diffusers."""
    modules = dict(unet.named_modules())
    with torch.no_grad():
        for module_name, alpha in alphas.items():
            down, up = state[f"{module_name}.lora_A.weight"], state[f"{module_name}.lora_B.weight"]
            weight = modules[module_name].weight
            delta = up.flatten(1).float() @ down.flatten(1).float() * (alpha / down.shape[0])
            weight += delta.view_as(weight)


def test_default_preset_is_every_linear_layer_of_the_attention_blocks(unet):
    names = resolve_targets(unet, "default")
    assert len(names) == 72  # 6 transformer blocks x (proj_in, proj_out, 2 x q/k/v/out, ff in/out)
    assert all(".attentions." in n for n in names)
    for suffix in ("proj_in", "proj_out", "attn1.to_q", "attn2.to_out.0", "ff.net.0.proj", "ff.net.2"):
        assert sum(n.endswith("." + suffix) for n in names) == 6, suffix


def test_attn_preset_is_q_k_v_out_only(unet):
    names = resolve_targets(unet, "attn")
    expected = [n for n, _ in unet.named_modules()
                if ".attentions." in n and n.endswith((".to_q", ".to_k", ".to_v", ".to_out.0"))]
    assert names == expected and len(names) == 48


def test_sd15_shaped_unet_gets_kohyas_192_and_the_examples_128_modules():
    """The counts the README and the issue give for SD 1.5 (16 transformer blocks), on its real layer layout."""
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):  # the layout only: no memory, no weights
        sd15 = UNet2DConditionModel(
            sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
            cross_attention_dim=768, attention_head_dim=8, down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
    assert len(resolve_targets(sd15, "default")) == 192
    assert len(resolve_targets(sd15, "attn")) == 128


def test_unknown_preset_names_the_choices(unet):
    with pytest.raises(UserError, match="default, attn"):
        resolve_targets(unet, "everything")


def test_add_lora_trains_only_fp32_adapters_over_a_bf16_base(unet):
    unet.to(torch.bfloat16)
    params = add_lora(unet, LoraSettings(rank=4, alpha=2.0, targets="default"))
    trainable = [(n, p) for n, p in unet.named_parameters() if p.requires_grad]
    assert len(params) == len(trainable) == 2 * 72
    assert {id(p) for p in params} == {id(p) for _, p in trainable}
    assert all(".lora_A." in n or ".lora_B." in n for n, _ in trainable)
    assert all(p.dtype == torch.float32 for p in params)
    frozen = [p for n, p in unet.named_parameters() if not p.requires_grad]
    assert frozen and all(p.dtype == torch.bfloat16 for p in frozen)
    # Mixed dtypes still run, and the update reaches the output through the adapter.
    fill_adapter(unet)
    out = unet_output(unet)
    assert out.dtype == torch.bfloat16 and torch.isfinite(out).all()


def test_fresh_adapter_changes_nothing_and_attn_preset_adapts_fewer_layers(unet):
    before = unet_output(unet)
    params = add_lora(unet, LoraSettings(rank=4, alpha=4.0, targets="attn"))
    assert len(params) == 2 * 48
    assert torch.equal(unet_output(unet), before)
    fill_adapter(unet)
    assert not torch.allclose(unet_output(unet), before, atol=1e-3)


def test_adapter_state_dict_round_trip_and_mismatch(tiny_base_path):
    settings = LoraSettings(rank=4, alpha=2.0)
    source, target = load_pipeline("tiny").unet, load_pipeline("tiny").unet
    add_lora(source, settings)
    fill_adapter(source)
    add_lora(target, settings)
    state = adapter_state_dict(source)
    assert "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight" in state
    load_adapter_state_dict(target, state)
    assert torch.equal(unet_output(target), unet_output(source))

    other = load_pipeline("tiny").unet
    add_lora(other, LoraSettings(rank=8, alpha=2.0))
    with pytest.raises(UserError, match="rank"):
        load_adapter_state_dict(other, state)


def test_kohya_file_keys_shapes_alpha_and_metadata(unet, tmp_path):
    settings = LoraSettings(rank=4, alpha=2.0)
    add_lora(unet, settings)
    fill_adapter(unet)
    metadata = {"ss_sd_model_name": "tiny", "ss_resolution": "(64, 64)", "ss_steps": 12, "ss_epoch": 3,
                "ss_num_epochs": 3, "ss_tag_frequency": {"data": {"mychar": 6, "1girl": 6}}, "ss_v2": False}
    path = save_lora(unet, tmp_path / "run", "run", settings, metadata)
    assert path == tmp_path / "run" / "run.safetensors"
    kohya = load_file(path)

    prefix = "lora_unet_down_blocks_1_attentions_0_"
    # (rank, in) / (out, rank); this block has 64 channels, the text (attn2 k/v input) has 32.
    assert kohya[f"{prefix}transformer_blocks_0_attn1_to_q.lora_down.weight"].shape == (4, 64)
    assert kohya[f"{prefix}transformer_blocks_0_attn2_to_k.lora_down.weight"].shape == (4, 32)
    assert kohya[f"{prefix}transformer_blocks_0_ff_net_2.lora_up.weight"].shape == (64, 4)
    # proj_in / proj_out are 1x1 convs on SD1.x-shaped UNets: 4-D like kohya's.
    assert kohya[f"{prefix}proj_in.lora_down.weight"].shape == (4, 64, 1, 1)
    assert kohya[f"{prefix}proj_out.lora_up.weight"].shape == (64, 4, 1, 1)
    modules = {k.split(".")[0] for k in kohya}
    assert len(modules) == 72 and len(kohya) == 3 * 72
    assert all(kohya[f"{m}.alpha"].item() == 2.0 for m in modules)  # alpha, not rank
    assert all(v.dtype == torch.float32 for v in kohya.values())

    meta = read_lora_metadata(path)
    assert meta["ss_network_dim"] == "4" and meta["ss_network_alpha"] == "2.0"
    assert meta["ss_network_module"] == "networks.lora" and meta["ss_v2"] == "False"
    assert meta["ss_output_name"] == "run" and meta["ss_steps"] == "12" and meta["ss_resolution"] == "(64, 64)"
    assert json.loads(meta["ss_tag_frequency"]) == {"data": {"mychar": 6, "1girl": 6}}

    diffusers_keys = load_file(tmp_path / "run" / "diffusers" / "pytorch_lora_weights.safetensors")
    assert "unet.down_blocks.1.attentions.0.proj_in.lora_A.weight" in diffusers_keys
    assert len(diffusers_keys) == 2 * 72


def test_save_dtype_fp16(unet, tmp_path):
    settings = LoraSettings(rank=4, alpha=2.0)
    add_lora(unet, settings)
    path = save_lora(unet, tmp_path, "half", settings, {}, save_dtype="fp16")
    weights = {k: v for k, v in load_file(path).items() if not k.endswith(".alpha")}
    assert weights and all(v.dtype == torch.float16 for v in weights.values())


def test_kohya_conversion_round_trip_recovers_module_names(unet):
    add_lora(unet, LoraSettings(rank=4, alpha=2.0))
    fill_adapter(unet)
    state = adapter_state_dict(unet)
    # Without the UNet's names the dotted paths are rebuilt from SD's naming; with them the mapping is exact.
    for names in (None, resolve_targets(unet, "default")):
        back, alphas = from_kohya(to_kohya(state, 2.0), names)
        assert back.keys() == state.keys()
        assert all(torch.equal(back[k], state[k]) for k in state)
        assert set(alphas.values()) == {2.0} and len(alphas) == 72


def test_kohya_file_without_alpha_means_scale_one(unet, tmp_path):
    add_lora(unet, LoraSettings(rank=4, alpha=4.0))
    fill_adapter(unet)
    kohya = {k: v for k, v in to_kohya(adapter_state_dict(unet), 4.0).items() if not k.endswith(".alpha")}
    save_file(kohya, tmp_path / "other.safetensors")
    _, alphas = read_lora_file(tmp_path / "other.safetensors")
    assert set(alphas.values()) == {4.0}  # alpha = rank


def test_alpha_other_than_rank_survives_both_files(tiny_base_path, tmp_path):
    """In-memory peft UNet == kohya file in diffusers == diffusers copy in diffusers == W + alpha/rank * BA."""
    settings = LoraSettings(rank=4, alpha=2.0)
    pipe = load_pipeline("tiny")
    base = unet_output(pipe.unet)
    add_lora(pipe.unet, settings)
    fill_adapter(pipe.unet)
    expected = unet_output(pipe.unet)
    assert not torch.allclose(expected, base, atol=1e-2)
    kohya_path = save_lora(pipe.unet, tmp_path, "run", settings, {})

    for path in (kohya_path, tmp_path / "diffusers" / "pytorch_lora_weights.safetensors"):
        fresh = load_pipeline("tiny")
        fresh.load_lora_weights(str(path), adapter_name="x")
        torch.testing.assert_close(unet_output(fresh.unet), expected, atol=1e-5, rtol=1e-5)

    by_hand = load_pipeline("tiny").unet
    merge_by_hand(by_hand, *read_lora_file(kohya_path))
    torch.testing.assert_close(unet_output(by_hand), expected, atol=1e-4, rtol=1e-4)


def test_missing_or_broken_files_name_the_file(tmp_path):
    with pytest.raises(UserError, match="nope.safetensors"):
        read_lora_metadata(tmp_path / "nope.safetensors")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a tensor file")
    with pytest.raises(UserError, match="broken.safetensors"):
        read_lora_file(broken)
