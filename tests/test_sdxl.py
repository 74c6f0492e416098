"""SDXL end to end on the offline `tiny-sdxl` base: training (both encoders, size conditioning), exact resume,
samples; kohya-named and diffusers files that diffusers' StableDiffusionXLPipeline loads to the same UNet output;
a kohya SDXL file made here loads in our generate as the same weights merged by hand; CLI train and generate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from lora_studio.config import load_config
from lora_studio.data import ImageItem, size_conditioning
from lora_studio.families import SDXL
from lora_studio.lora import read_lora_file, read_lora_metadata, resolve_targets
from lora_studio.models import load_pipeline
from lora_studio.runlog import read_metrics

ROOT = Path(__file__).resolve().parent.parent


def sdxl_config(dataset: Path, run_dir: Path, *extra: str):
    return load_config(None, [
        "name=x", "base=tiny-sdxl", f"dataset.path={dataset}", "dataset.trigger_word=mychar", "dataset.resolution=64",
        "dataset.bucket_step=32", "lora.rank=4", "lora.alpha=2", "train.learning_rate=1e-3", f"output_dir={run_dir}",
        "sample.steps=2", *extra,
    ])


def unet_output(unet, text_width: int = 80, pooled_width: int = 48) -> torch.Tensor:
    gen = torch.Generator().manual_seed(123)
    latents, text = torch.randn(1, 4, 16, 16, generator=gen), torch.randn(1, 8, text_width, generator=gen)
    added = {"text_embeds": torch.randn(1, pooled_width, generator=gen),
             "time_ids": torch.tensor([[96.0, 128.0, 0.0, 16.0, 64.0, 64.0]])}
    with torch.no_grad():
        return unet(latents, 10, text, added_cond_kwargs=added).sample


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short tiny-sdxl run (tags shuffled: embeddings encoded each step; flips: mirrored size numbers)."""
    from lora_studio.sample_data import make_sample_dataset
    from lora_studio.train import train

    tmp = tmp_path_factory.mktemp("sdxl")
    dataset = make_sample_dataset(tmp / "dataset", count=6, size=96)
    result = train(sdxl_config(dataset, tmp / "run", "train.max_train_steps=4", "dataset.flip=true"))
    return result, tmp / "run"


def test_tiny_sdxl_trains_only_the_adapter_with_kohya_sdxl_names_and_metadata(trained):
    result, run = trained
    assert result.state == "finished" and result.step == 4
    base = load_pipeline("tiny-sdxl").unet.state_dict()
    for name, value in result.unet.state_dict().items():
        if "lora_" not in name:
            torch.testing.assert_close(value, base[name.replace(".base_layer", "")], msg=name)
    kohya = load_file(result.adapter)
    assert "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_down.weight" in kohya
    assert not any(k.startswith("lora_unet_down_blocks") for k in kohya)
    assert any(v.abs().sum() > 0 for k, v in kohya.items() if k.endswith("lora_up.weight"))  # it learned
    meta = read_lora_metadata(result.adapter)
    assert meta["ss_base_model_version"] == "sdxl_base_v1-0"
    assert meta["modelspec.architecture"] == "stable-diffusion-xl-v1-base/lora"
    assert [r["step"] for r in read_metrics(run)] == [1, 2, 3, 4]
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == ["step000004_0.png"]
    params = Image.open(run / "samples" / "step000004_0.png").text["parameters"]
    assert "Size: 64x64" in params and "Model: tiny-sdxl" in params


def test_diffusers_loads_both_files_to_the_training_unets_output(trained):
    from lora_studio.generate import apply_loras

    result, run = trained
    expected = unet_output(result.unet)
    assert (expected - unet_output(load_pipeline("tiny-sdxl").unet)).abs().max() > 1e-4  # the adapter matters
    for folder, weight_name in ((result.adapter.parent, result.adapter.name),
                                (run / "diffusers", "pytorch_lora_weights.safetensors")):
        pipe = load_pipeline("tiny-sdxl")
        pipe.load_lora_weights(str(folder), weight_name=weight_name)
        torch.testing.assert_close(unet_output(pipe.unet), expected, rtol=1e-4, atol=1e-5, msg=weight_name)
        ours = load_pipeline("tiny-sdxl")  # and through `lora-studio generate`'s loader
        apply_loras(ours, [str(folder / weight_name)])
        torch.testing.assert_close(unet_output(ours.unet), expected, rtol=1e-4, atol=1e-5, msg=weight_name)


def test_resume_matches_an_uninterrupted_sdxl_run(sample_dataset, tmp_path, monkeypatch):
    from lora_studio.train import train

    extra = ("train.max_train_steps=5", "train.checkpoint_every_n_steps=2", "dataset.flip=true",
             "sample.every_n_steps=0", "train.lr_scheduler=cosine")
    straight = train(sdxl_config(sample_dataset, tmp_path / "a", *extra))
    import lora_studio.train as train_module

    calls = {"n": 0}

    def stop_on_third(run_dir):
        calls["n"] += 1
        return calls["n"] >= 3

    with monkeypatch.context() as m:
        m.setattr(train_module, "stop_requested", stop_on_third)
        stopped = train(sdxl_config(sample_dataset, tmp_path / "b", *extra))
    assert stopped.state == "stopped" and stopped.step == 3
    resumed = train(sdxl_config(sample_dataset, tmp_path / "b", *extra, "train.resume=latest"))
    assert resumed.state == "finished" and resumed.step == 5
    a, b = load_file(straight.adapter), load_file(resumed.adapter)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=1e-6, msg=key)


def test_v_prediction_setting_trains_with_zero_terminal_snr_and_says_so(sample_dataset, tmp_path):
    from lora_studio.train import train

    result = train(sdxl_config(sample_dataset, tmp_path / "v", "train.max_train_steps=1", "sample.every_n_steps=0",
                               "train.prediction_type=v_prediction", "sample.steps=1"))
    meta = read_lora_metadata(result.adapter)
    assert meta["ss_v_parameterization"] == "True" and meta["ss_zero_terminal_snr"] == "True"
    assert meta["modelspec.prediction_type"] == "v"


def test_size_numbers_are_original_crop_and_bucket_as_kohya_computes_them():
    item = ImageItem(path=Path("a.png"), caption_path=None, tags=[], repeats=1, width=200, height=100, bucket=(128, 64))
    # 200x100 covers 128x64 at 128x64 exactly: no crop
    assert size_conditioning(item) == (100, 200, 0, 0, 64, 128)
    tall = ImageItem(path=Path("b.png"), caption_path=None, tags=[], repeats=1, width=100, height=300, bucket=(64, 128))
    # resized to 64x192, centre crop of 128 rows starts at row 32
    assert size_conditioning(tall) == (300, 100, 32, 0, 128, 64)
    wide = ImageItem(path=Path("c.png"), caption_path=None, tags=[], repeats=1, width=301, height=100, bucket=(64, 64))
    assert size_conditioning(wide) == (100, 301, 0, 64, 64, 64)  # 193 wide, crop from 64
    assert size_conditioning(wide, flipped=True) == (100, 301, 0, 65, 64, 64)  # mirrored: 193 - 64 - 64


def test_a_kohya_sdxl_file_loads_in_generate_as_the_same_weights_merged_by_hand(tmp_path):
    """A file named as kohya sd-scripts names SDXL modules (input_blocks/middle_block/output_blocks, alpha != rank,
    a text-encoder part for both encoders), made here: our generate's UNet equals a hand merge."""
    from lora_studio.families import kohya_module_name
    from lora_studio.generate import apply_loras

    pipe = load_pipeline("tiny-sdxl")
    modules = resolve_targets(pipe.unet, "default")
    named = dict(pipe.unet.named_modules())
    gen = torch.Generator().manual_seed(5)
    weights = {}
    for module in modules:
        layer = named[module]
        name = kohya_module_name(SDXL, module)
        weights[f"{name}.lora_down.weight"] = torch.randn(4, layer.in_features, generator=gen) * 0.2
        weights[f"{name}.lora_up.weight"] = torch.randn(layer.out_features, 4, generator=gen) * 0.2
        weights[f"{name}.alpha"] = torch.tensor(2.0)
    # kohya's text-encoder part: every Linear of CLIPAttention and CLIPMLP, here of the first layer of each encoder
    for prefix, encoder in (("lora_te1_", pipe.text_encoder), ("lora_te2_", pipe.text_encoder_2)):
        layer = getattr(encoder, "text_model", encoder).encoder.layers[0]
        for part in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1",
                     "mlp.fc2"):
            linear = layer.get_submodule(part)
            name = prefix + "text_model_encoder_layers_0_" + part.replace(".", "_")
            weights[f"{name}.lora_down.weight"] = torch.randn(4, linear.in_features, generator=gen) * 0.2
            weights[f"{name}.lora_up.weight"] = torch.randn(linear.out_features, 4, generator=gen) * 0.2
            weights[f"{name}.alpha"] = torch.tensor(4.0)
    path = tmp_path / "kohya_sdxl.safetensors"
    save_file(weights, str(path))

    base = unet_output(pipe.unet)
    prompt_before = pipe.encode_prompt("mychar", do_classifier_free_guidance=False)[0]
    apply_loras(pipe, [str(path)])
    ours = unet_output(pipe.unet)
    assert (ours - base).abs().max() > 1e-3
    # both encoders' parts were loaded too: the prompt's conditioning moved
    assert (pipe.encode_prompt("mychar", do_classifier_free_guidance=False)[0] - prompt_before).abs().max() > 1e-4

    by_hand = load_pipeline("tiny-sdxl").unet
    state, alphas = read_lora_file(path, modules, SDXL)
    assert len(alphas) == len(modules)
    by_hand_modules = dict(by_hand.named_modules())
    with torch.no_grad():
        for module, alpha in alphas.items():
            down, up = state[f"{module}.lora_A.weight"], state[f"{module}.lora_B.weight"]
            by_hand_modules[module].weight += up @ down * (alpha / down.shape[0])
    torch.testing.assert_close(ours, unet_output(by_hand), rtol=1e-4, atol=1e-5)


def _cli_env(tmp_path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    env.setdefault("LORA_STUDIO_CACHE", str(tmp_path / "cache"))
    return env


@pytest.mark.slow
def test_cli_trains_the_sdxl_quickstart_and_generates_with_its_adapter(sample_dataset, tmp_path):
    run = tmp_path / "run"
    out = subprocess.run([sys.executable, "-m", "lora_studio.cli", "train", str(ROOT / "configs" / "quickstart-sdxl.yaml"),
                          f"dataset.path={sample_dataset}", f"output_dir={run}", "train.max_train_steps=2"],
                         capture_output=True, text=True, env=_cli_env(tmp_path), timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert "base family: SDXL" in log
    adapter = run / "quickstart-sdxl.safetensors"
    assert read_lora_metadata(adapter)["ss_base_model_version"] == "sdxl_base_v1-0"
    gen = subprocess.run([sys.executable, "-m", "lora_studio.cli", "generate", "--base", "tiny-sdxl", "--lora",
                          str(adapter), "--prompt", "mychar, 1girl", "--seed", "3", "--steps", "2", "--out",
                          str(tmp_path / "images")], capture_output=True, text=True, env=_cli_env(tmp_path), timeout=600)
    assert gen.returncode == 0, gen.stderr[-3000:]
    (image,) = (tmp_path / "images").glob("*.png")
    params = Image.open(image).text["parameters"]
    assert "Size: 64x64" in params and "Model: tiny-sdxl" in params and "<lora:quickstart-sdxl:1>" in params
    assert np.asarray(Image.open(image)).shape == (64, 64, 3)


def test_every_sampler_draws_from_a_v_prediction_zero_terminal_snr_sdxl_base():
    """NoobAI-XL V-Pred's schedule ends at pure noise (infinite sigma for Euler-type samplers): no sampler may NaN."""
    from lora_studio.config import SAMPLERS
    from lora_studio.families import SDXL_V
    from lora_studio.generate import GenerateConfig, generate_images
    from lora_studio.models import set_noise_schedule

    pipe = load_pipeline("tiny-sdxl")
    set_noise_schedule(pipe, SDXL_V)
    for sampler in SAMPLERS:
        (image, params), = generate_images(pipe, GenerateConfig(base="tiny-sdxl", prompt="mychar", steps=3,
                                                                 sampler=sampler, seed=1))
        pixels = np.asarray(image, dtype=np.float64)
        assert pixels.std() > 1, sampler  # a NaN latent decodes to one flat colour
        assert "Size: 64x64" in params
