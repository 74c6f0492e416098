"""`generate` on the tiny base: adapters change the image exactly as the file says, PNGs carry A1111 parameters."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from lora_studio.config import SAMPLERS, LoraSettings
from lora_studio.errors import UserError
from lora_studio.generate import (
    GenerateConfig,
    generate,
    generate_images,
    get_pipeline,
    parse_lora_spec,
    sampler_scheduler,
)
from lora_studio.lora import add_lora, read_lora_file, save_lora
from lora_studio.models import TINY_NOTE, load_pipeline
from lora_studio.png_info import A1111_SAMPLER_NAMES

SETTINGS = LoraSettings(rank=4, alpha=2.0)  # alpha != rank: the scale 0.5 has to survive every path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_base_path):
    """A pipe whose UNet carries a trained-looking adapter (random lora_B), and that adapter saved to files."""
    pipe = load_pipeline("tiny")
    add_lora(pipe.unet, SETTINGS)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in pipe.unet.named_parameters():
            if ".lora_B." in name:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.3)
    run = tmp_path_factory.mktemp("run")
    kohya = save_lora(pipe.unet, run, "mychar", SETTINGS, {"ss_steps": 10})
    return pipe, kohya, run / "diffusers" / "pytorch_lora_weights.safetensors"


@pytest.fixture(scope="module")
def pipe(tiny_base_path):
    """One base pipeline reused by generate(), as the studio does."""
    return load_pipeline("tiny")


def config(tmp_path: Path, **changes) -> GenerateConfig:
    values = dict(base="tiny", prompt="mychar, 1girl, green hair", negative_prompt="lowres", steps=2,
                  width=64, height=64, seed=1, out_dir=str(tmp_path / "out"))
    return GenerateConfig(**{**values, **changes})


def pixels(path_or_image) -> np.ndarray:
    image = Image.open(path_or_image) if isinstance(path_or_image, Path) else path_or_image
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def one(paths: list[Path]) -> np.ndarray:
    assert len(paths) == 1
    return pixels(paths[0])


def plain_diffusers_image(pipe, cfg: GenerateConfig) -> np.ndarray:
    """The same settings through plain diffusers calls, as a user of diffusers would write them."""
    from diffusers import EulerAncestralDiscreteScheduler

    pipe.scheduler = EulerAncestralDiscreteScheduler.from_config(pipe.scheduler.config)
    image = pipe(cfg.prompt, negative_prompt=cfg.negative_prompt, num_inference_steps=cfg.steps,
                 guidance_scale=cfg.guidance_scale, width=cfg.width, height=cfg.height,
                 generator=[torch.Generator().manual_seed(cfg.seed)]).images[0]
    return pixels(image)


def test_kohya_file_diffusers_copy_hand_merge_and_training_unet_give_the_same_image(trained, pipe, tmp_path):
    training_pipe, kohya, diffusers_copy = trained
    cfg = config(tmp_path)
    base = one(generate(cfg, pipe=pipe))
    ours = one(generate(config(tmp_path, loras=[str(kohya)]), pipe=pipe))
    assert np.abs(ours - base).mean() > 5  # the adapter matters

    in_memory = pixels(generate_images(training_pipe, cfg)[0][0])  # the UNet being trained, no files
    via_diffusers_copy = load_pipeline("tiny")
    via_diffusers_copy.load_lora_weights(str(diffusers_copy.parent), weight_name=diffusers_copy.name)
    by_hand = load_pipeline("tiny")
    state, alphas = read_lora_file(kohya)
    modules = dict(by_hand.unet.named_modules())
    with torch.no_grad():
        for name, alpha in alphas.items():
            down, up = state[f"{name}.lora_A.weight"], state[f"{name}.lora_B.weight"]
            weight = modules[name].weight
            weight += (up.flatten(1) @ down.flatten(1) * (alpha / down.shape[0])).view_as(weight)

    for other in (in_memory, plain_diffusers_image(via_diffusers_copy, cfg), plain_diffusers_image(by_hand, cfg)):
        assert np.abs(other - ours).max() <= 2


def test_scale_zero_and_later_calls_without_adapters_give_the_base_bit_for_bit(trained, pipe, tmp_path):
    _, kohya, _ = trained
    base = one(generate(config(tmp_path), pipe=pipe))
    with_adapter = one(generate(config(tmp_path, loras=[f"{kohya}:0.8"]), pipe=pipe))
    assert not np.array_equal(with_adapter, base)
    assert np.array_equal(one(generate(config(tmp_path, loras=[f"{kohya}:0"]), pipe=pipe)), base)
    assert np.array_equal(one(generate(config(tmp_path, loras=[f"{kohya}:0.8"]), pipe=pipe)), with_adapter)
    assert np.array_equal(one(generate(config(tmp_path), pipe=pipe)), base)  # nothing leaks from earlier calls


def test_same_seed_same_image_and_batches_count_seeds_up(pipe, tmp_path):
    first = one(generate(config(tmp_path, seed=7), pipe=pipe))
    assert np.array_equal(one(generate(config(tmp_path, seed=7), pipe=pipe)), first)
    batch = generate(config(tmp_path, seed=7, batch_size=2), pipe=pipe)
    assert [Image.open(p).text["parameters"].count("Seed: 7,") for p in batch] == [1, 0]
    assert "Seed: 8," in Image.open(batch[1]).text["parameters"]
    assert not np.array_equal(pixels(batch[0]), pixels(batch[1]))


def test_kohya_file_without_alpha_loads_with_scale_one(trained, pipe, tmp_path):
    _, kohya, _ = trained
    # Same update without `.alpha`: lora_up carries the 0.5 itself, so scale 1 must give the same image.
    weights = {k: (v * 0.5 if k.endswith(".lora_up.weight") else v)
               for k, v in load_file(kohya).items() if not k.endswith(".alpha")}
    no_alpha = tmp_path / "no_alpha.safetensors"
    save_file(weights, no_alpha)
    expected = one(generate(config(tmp_path, loras=[str(kohya)]), pipe=pipe))
    assert np.abs(one(generate(config(tmp_path, loras=[str(no_alpha)]), pipe=pipe)) - expected).max() <= 1


def test_png_carries_a1111_parameters_and_files_are_never_overwritten(trained, pipe, tmp_path, caplog):
    _, kohya, _ = trained
    with caplog.at_level(logging.WARNING):
        paths = generate(config(tmp_path, loras=[f"{kohya}:0.8"]), pipe=pipe)
    assert TINY_NOTE in caplog.text
    data = kohya.read_bytes()
    header = int.from_bytes(data[:8], "little")
    short_hash = hashlib.sha256(data[8 + header:]).hexdigest()[:12]  # A1111's "addnet" hash of the tensors
    assert Image.open(paths[0]).text["parameters"] == (
        f"mychar, 1girl, green hair, <lora:{kohya.stem}:0.8>\nNegative prompt: lowres\n"
        "Steps: 2, Sampler: Euler a, CFG scale: 7.0, Seed: 1, Size: 64x64, Model: tiny, "
        f'Lora hashes: "mychar: {short_hash}"'
    )
    again = generate(config(tmp_path, loras=[f"{kohya}:0.8"]), pipe=pipe)
    assert again[0] != paths[0] and paths[0].exists()
    assert Image.open(again[0]).size == (64, 64)


def test_random_seed_is_recorded_and_native_size_is_the_default(pipe, tmp_path):
    (path,) = generate(config(tmp_path, seed=-1, width=None, height=None, negative_prompt=""), pipe=pipe)
    params = Image.open(path).text["parameters"]
    assert "Negative prompt" not in params  # A1111 leaves the line out when there is none
    seed = int(params.split("Seed: ")[1].split(",")[0])
    assert "Size: 64x64" in params and Image.open(path).size == (64, 64)  # tiny: 32 latents x VAE factor 2
    assert np.array_equal(one(generate(config(tmp_path, seed=seed, negative_prompt=""), pipe=pipe)), pixels(path))


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_sampler_renders_and_is_named_as_a1111_does(pipe, sampler, tmp_path):
    ((image, params),) = generate_images(pipe, config(tmp_path, sampler=sampler, steps=2))
    assert image.size == (64, 64)
    assert f"Sampler: {A1111_SAMPLER_NAMES[sampler]}," in params


def test_samplers_do_not_leak_options_into_each_other(pipe, tmp_path):
    generate_images(pipe, config(tmp_path, sampler="dpmpp_2m_karras", steps=2))
    scheduler = sampler_scheduler("dpmpp_2m", pipe._lora_studio_scheduler_config)
    generate_images(pipe, config(tmp_path, sampler="dpmpp_2m", steps=2))
    assert not pipe.scheduler.config.use_karras_sigmas and not scheduler.config.use_karras_sigmas


def test_bad_settings_name_the_value(tmp_path):
    with pytest.raises(UserError, match="'heun'.*euler_a"):
        config(tmp_path, sampler="heun").validate()
    with pytest.raises(UserError, match="width 65"):
        config(tmp_path, width=65).validate()
    with pytest.raises(UserError, match="missing.safetensors"):
        config(tmp_path, loras=[str(tmp_path / "missing.safetensors:0.5")]).validate()


def test_lora_spec_scale_only_after_the_last_colon(tmp_path):
    odd = tmp_path / "C:odd.safetensors"  # a name with a ':' but no scale, like a Windows drive letter
    odd.write_bytes(b"")
    assert parse_lora_spec(str(odd)) == (odd, 1.0)
    assert parse_lora_spec(f"{odd}:0.5") == (odd, 0.5)
    assert parse_lora_spec(f"{odd}:-1") == (odd, -1.0)


def test_pipeline_cache_keeps_one_base(tiny_base_path):
    first = get_pipeline("tiny")
    assert get_pipeline("tiny") is first
    other = get_pipeline(str(tiny_base_path))  # the same weights by folder: a different base
    assert other is not first and get_pipeline(str(tiny_base_path)) is other
    assert get_pipeline("tiny") is not first


def test_unusable_lora_file_is_named_and_leaves_the_pipe_clean(pipe, tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a tensor file")
    base = one(generate(config(tmp_path), pipe=pipe))
    with pytest.raises(UserError, match="broken.safetensors"):
        generate(config(tmp_path, loras=[str(broken)]), pipe=pipe)
    assert np.array_equal(one(generate(config(tmp_path), pipe=pipe)), base)


def test_the_cli_takes_its_generation_defaults_from_generate_config():
    from lora_studio.cli import build_parser
    from lora_studio.config import DEFAULT_NEGATIVE_PROMPT, SampleSettings
    from lora_studio.generate import GenerateConfig

    args = build_parser().parse_args(["generate", "--base", "tiny", "--prompt", "mychar"])
    defaults = GenerateConfig(base="tiny")
    assert (args.negative_prompt, args.steps, args.guidance_scale, args.sampler, args.seed, args.batch_size,
            args.out) == (defaults.negative_prompt, defaults.steps, defaults.guidance_scale, defaults.sampler,
                          defaults.seed, defaults.batch_size, defaults.out_dir)
    assert defaults.negative_prompt == SampleSettings().negative_prompt == DEFAULT_NEGATIVE_PROMPT


def test_each_denoising_step_is_reported_and_changes_nothing(pipe, tmp_path):
    told: list[tuple[int, int]] = []
    with_progress = one(generate(config(tmp_path, seed=3, steps=4), pipe=pipe, on_step=lambda *a: told.append(a)))
    assert told == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert np.array_equal(with_progress, one(generate(config(tmp_path, seed=3, steps=4), pipe=pipe)))
