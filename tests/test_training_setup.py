"""A run's setup in order: the base (frozen), the caches, the adapter with its optimizer, the resume point."""

import torch

from lora_studio.config import load_config
from lora_studio.data import scan_dataset
from lora_studio.training_setup import add_adapter, build_caches, load_base, make_accelerator, resume_point


def _cfg(sample_dataset, tmp_path, *extra):
    return load_config(None, ["base=tiny", f"dataset.path={sample_dataset}", "dataset.resolution=64",
                              "lora.rank=4", f"output_dir={tmp_path / 'run'}", *extra])


def test_the_base_is_frozen_and_samples_denoise_the_way_the_run_trains(sample_dataset, tmp_path):
    base = load_base(_cfg(sample_dataset, tmp_path, "train.prediction_type=v_prediction"), main=True)
    frozen = [base.pipe.unet, base.pipe.vae, *base.prompts.text_encoders]
    assert not any(p.requires_grad for module in frozen for p in module.parameters())
    assert base.prediction_type == "v_prediction" == base.pipe.scheduler.config.prediction_type
    assert base.noise_scheduler.config.prediction_type == "v_prediction"


def test_the_caches_hold_every_picture_and_the_encoders_leave_the_device(sample_dataset, tmp_path):
    cfg = _cfg(sample_dataset, tmp_path, "dataset.cache=disk", "dataset.shuffle_tags=false")
    base = load_base(cfg, main=True)
    items = scan_dataset(cfg.dataset).items
    latents, texts = build_caches(cfg, base, items, tmp_path / "run", torch.device("cpu"), torch.float32, main=True)
    assert latents.get(0, False).shape[0] == 4  # the VAE's latent channels
    assert any((tmp_path / "run" / "cache").iterdir())  # dataset.cache=disk keeps them for the next run
    emb, pooled = texts.get([""], torch.device("cpu"), torch.float32)
    assert emb.shape[0] == 1 and pooled is None  # SD 1.x: one encoder, no pooled embedding


def test_same_seed_same_initial_adapter_and_only_the_adapter_trains(sample_dataset, tmp_path):
    cfg = _cfg(sample_dataset, tmp_path, "train.seed=11")
    initial = []
    for _ in range(2):
        accelerator = make_accelerator(cfg, tmp_path / "run")
        unet, params, optimizer, schedule = add_adapter(cfg, accelerator, load_base(cfg, True).pipe.unet,
                                                        torch.float32, total_steps=10)
        trainable = [n for n, p in unet.named_parameters() if p.requires_grad]
        assert trainable and all("lora_" in n for n in trainable)
        assert len(optimizer.param_groups[0]["params"]) == len(params) == len(trainable)
        initial.append([p.detach().clone() for p in params])
    assert all(torch.equal(a, b) for a, b in zip(*initial, strict=True))


def test_without_a_checkpoint_the_run_starts_at_step_zero(sample_dataset, tmp_path):
    cfg = _cfg(sample_dataset, tmp_path, "train.resume=latest")
    accelerator = make_accelerator(cfg, tmp_path / "run")
    unet, *_ = add_adapter(cfg, accelerator, load_base(cfg, True).pipe.unet, torch.float32, total_steps=10)
    assert resume_point(cfg, accelerator, unet, tmp_path / "run") == (0, 0, 0)
