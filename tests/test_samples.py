"""Sample images during training: the run's prompts, drawn with the adapter being trained, into samples/."""

import torch
from PIL import Image

from lora_studio.config import load_config
from lora_studio.samples import default_sample_prompt, sample_due, sample_images


def test_the_default_prompt_is_the_trigger_word_and_the_most_frequent_tags():
    cfg = load_config(None, ["dataset.trigger_word=zkw"])
    counts = {"1girl": 9, "zkw": 8, "smile": 5, "green_hair": 4, "solo": 3, "skirt": 2, "hat": 1}
    assert default_sample_prompt(cfg, counts) == "zkw, 1girl, smile, green_hair, solo, skirt"


def test_samples_carry_their_parameters_and_leave_the_model_as_training_had_it(tiny_pipe, tmp_path):
    cfg = load_config(None, ["base=tiny", "dataset.resolution=64", "sample.steps=1", "sample.seed=3",
                             "sample.prompts=[a cat, a dog]", f"output_dir={tmp_path}"])
    unet = tiny_pipe.unet
    unet.train()
    paths = sample_images(tiny_pipe, unet, cfg, tmp_path, 7, [], torch.device("cpu"), torch.float32)
    assert [p.name for p in paths] == ["step000007_0.png", "step000007_1.png"]
    for path, prompt in zip(paths, ["a cat", "a dog"], strict=True):
        with Image.open(path) as image:
            assert image.size == (64, 64)
            assert image.text["parameters"].startswith(prompt) and "Seed: 3" in image.text["parameters"]
    assert unet.training  # back to training mode
    assert next(tiny_pipe.vae.parameters()).device.type == "cpu"


def test_samples_are_due_by_step_or_by_finished_epoch():
    cfg = load_config(None, ["sample.every_n_steps=4", "sample.every_n_epochs=2"])
    assert [step for step in range(1, 10) if sample_due(cfg, step, None)] == [4, 8]
    assert sample_due(cfg, 5, finished_epoch=2) and not sample_due(cfg, 5, finished_epoch=3)
    never = load_config(None, ["sample.every_n_steps=0", "sample.every_n_epochs=0"])
    assert not any(sample_due(never, step, step) for step in range(1, 10))
