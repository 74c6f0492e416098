"""The trainer on the tiny base: only adapters change, the loss falls, resume is exact, two processes work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lora_studio.config import load_config
from lora_studio.runlog import read_metrics, read_status

ROOT = Path(__file__).resolve().parent.parent


def tiny_config(dataset: Path, run_dir: Path, *extra: str):
    return load_config(None, [
        "name=t", "base=tiny", f"dataset.path={dataset}", "dataset.trigger_word=mychar", "dataset.resolution=64",
        "dataset.bucket_step=32", "lora.rank=4", "lora.alpha=2", "train.learning_rate=1e-3", f"output_dir={run_dir}",
        "sample.steps=2", *extra,
    ])


def test_training_changes_only_the_adapter(sample_dataset, tmp_path, tiny_pipe):
    from lora_studio.train import train

    result = train(tiny_config(sample_dataset, tmp_path / "run", "train.max_train_steps=4"))
    assert result.state == "finished" and result.step == 4
    before = dict(tiny_pipe.unet.named_parameters())
    changed_adapter = 0
    for name, param in result.unet.named_parameters():
        if "lora_" in name:
            assert param.requires_grad and param.dtype == torch.float32
            changed_adapter += int(name.endswith("lora_B.default.weight") and param.abs().sum() > 0)
            continue
        base_name = name.replace("base_layer.", "")
        assert not param.requires_grad, name
        assert torch.equal(param.detach().cpu(), before[base_name].detach()), f"base weight {name} changed"
    assert changed_adapter > 0, "training did not move any adapter"
    assert result.adapter == tmp_path / "run" / "t.safetensors" and result.adapter.is_file()
    assert (tmp_path / "run" / "diffusers" / "pytorch_lora_weights.safetensors").is_file()
    assert (tmp_path / "run" / "config.yaml").is_file()
    assert list((tmp_path / "run" / "samples").glob("step000004_0.png"))
    status = read_status(tmp_path / "run")
    assert status["state"] == "finished" and status["step"] == 4 and status["total_steps"] == 4


def _fixed_eval_loss(unet, pipe, dataset: Path) -> float:
    """Mean denoising loss over fixed noise and timesteps, so two models are compared on the same draws."""
    from lora_studio.cache import LatentCache
    from lora_studio.data import scan_dataset
    from lora_studio.train import diffusion_loss

    cfg = tiny_config(dataset, dataset.parent / "unused", "train.min_snr_gamma=null")
    items = scan_dataset(cfg.dataset).items
    cache = LatentCache(items, base="tiny", flip=False)
    cache.build(pipe.vae, torch.device("cpu"), torch.float32)
    ids = pipe.tokenizer(["mychar"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    emb = pipe.text_encoder(ids)[0]
    total = 0.0
    with torch.no_grad():
        for i in range(len(items)):
            for draw in range(4):
                gen = torch.Generator().manual_seed(1000 * i + draw)
                lat = cache.get(i, False)[None]
                total += diffusion_loss(unet, pipe.scheduler, lat, emb, cfg, gen, "epsilon").item()
    return total / (len(items) * 4)


def test_loss_falls(sample_dataset, tmp_path, tiny_pipe):
    from lora_studio.train import train

    result = train(tiny_config(sample_dataset, tmp_path / "run", "train.max_train_steps=40", "lora.rank=8",
                               "lora.alpha=8", "train.learning_rate=5e-3", "dataset.shuffle_tags=false",
                               "dataset.caption_dropout=0", "train.min_snr_gamma=null", "sample.every_n_steps=0"))
    assert len(read_metrics(tmp_path / "run")) == 40
    result.unet.eval()
    trained = _fixed_eval_loss(result.unet, tiny_pipe, sample_dataset)
    result.unet.disable_adapters()
    base = _fixed_eval_loss(result.unet, tiny_pipe, sample_dataset)
    # A random tiny UNet cannot get far below the loss of predicting zeros (1.0); 40 steps must buy a clear 2 %.
    assert trained < base * 0.98, (base, trained)


def _stop_after(monkeypatch, calls: int):
    import lora_studio.train as train_module

    seen = {"n": 0}

    def fake_stop_requested(run_dir):
        seen["n"] += 1
        return seen["n"] >= calls

    monkeypatch.setattr(train_module, "stop_requested", fake_stop_requested)


def test_resume_matches_an_uninterrupted_run(sample_dataset, tmp_path, monkeypatch):
    from lora_studio.train import train

    extra = ("train.max_train_steps=9", "train.lr_scheduler=cosine", "train.checkpoint_every_n_steps=4",
             "dataset.flip=true", "dataset.tag_dropout=0.2")
    straight = train(tiny_config(sample_dataset, tmp_path / "a", *extra))

    with monkeypatch.context() as m:
        _stop_after(m, 6)
        stopped = train(tiny_config(sample_dataset, tmp_path / "b", *extra))
    assert stopped.state == "stopped" and stopped.step == 6
    assert read_status(tmp_path / "b")["state"] == "stopped"
    resumed = train(tiny_config(sample_dataset, tmp_path / "b", *extra, "train.resume=latest"))
    assert resumed.state == "finished" and resumed.step == 9

    a, b = load_file(straight.adapter), load_file(resumed.adapter)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=1e-6, msg=key)
    steps = [r["step"] for r in read_metrics(tmp_path / "b")]
    assert steps == list(range(1, 10)), "metrics should hold each step once after a resume"


def test_a_new_run_in_an_old_run_folder_sets_the_old_checkpoints_aside(sample_dataset, tmp_path):
    from lora_studio.checkpoints import list_checkpoints
    from lora_studio.lora import read_lora_metadata
    from lora_studio.train import train

    run = tmp_path / "run"
    first = train(tiny_config(sample_dataset, run, "train.max_train_steps=6", "train.checkpoint_every_n_steps=4"))
    assert read_lora_metadata(first.adapter)["ss_epoch"] == "1"  # 6 of the 8 steps of epoch 1
    # The same folder again without train.resume: a new run, which must not inherit the first run's step 4.
    second = train(tiny_config(sample_dataset, run, "train.max_train_steps=3", "train.learning_rate=0.05"))
    assert list_checkpoints(run) == []
    assert [p.name for p in (run / "checkpoints" / "earlier-run").iterdir()] == ["step-000004"]
    second_adapter = load_file(second.adapter)
    # resume=latest now finds nothing of the second run to continue: it starts fresh and ends as the second run did.
    again = train(tiny_config(sample_dataset, run, "train.max_train_steps=3", "train.learning_rate=0.05",
                              "train.resume=latest"))
    assert again.step == 3 and read_lora_metadata(again.adapter)["ss_steps"] == "3"
    for key, value in load_file(again.adapter).items():
        torch.testing.assert_close(value, second_adapter[key], msg=key)
    # The first run can still be continued from where it was set aside.
    resumed = train(tiny_config(sample_dataset, run, "train.max_train_steps=10", "train.checkpoint_every_n_steps=4",
                                f"train.resume={run / 'checkpoints' / 'earlier-run' / 'step-000004'}"))
    assert resumed.step == 10 and read_lora_metadata(resumed.adapter)["ss_epoch"] == "2"


def test_resume_with_other_lora_settings_is_refused_before_any_work(sample_dataset, tmp_path):
    from lora_studio.errors import ConfigError
    from lora_studio.train import train

    run = tmp_path / "run"
    train(tiny_config(sample_dataset, run, "train.max_train_steps=4", "train.checkpoint_every_n_steps=2"))
    with pytest.raises(ConfigError, match=r"lora\.alpha=2\.0; this config says lora\.alpha=64\.0"):
        train(tiny_config(sample_dataset, run, "train.max_train_steps=6", "lora.alpha=64", "train.resume=latest"))
    assert read_status(run)["state"] == "failed" and "lora.alpha" in read_status(run)["message"]


@pytest.mark.parametrize(("error", "words"), [
    (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB"), "outside a training step"),
    (OSError(28, "No space left on device"), "disk is full"),
])
def test_a_failure_before_the_first_step_is_a_message_and_the_status_says_failed(sample_dataset, tmp_path,
                                                                                  monkeypatch, error, words):
    import lora_studio.train as train_module
    from lora_studio.errors import UserError

    def failing_build(*args, **kwargs):
        raise error

    monkeypatch.setattr(train_module.LatentCache, "build", failing_build)
    with pytest.raises(UserError, match=words):
        train_module.train(tiny_config(sample_dataset, tmp_path / "run", "train.max_train_steps=2"))
    status = read_status(tmp_path / "run")
    assert status["state"] == "failed" and words in status["message"]


def test_nan_loss_stops_with_advice_and_keeps_last_adapter(sample_dataset, tmp_path, monkeypatch):
    import lora_studio.train as train_module
    from lora_studio.errors import TrainingStopped

    cfg = tiny_config(sample_dataset, tmp_path / "run", "train.max_train_steps=6", "train.checkpoint_every_n_steps=2")
    real_loss = train_module.diffusion_loss
    calls = {"n": 0}

    def exploding_loss(*args, **kwargs):
        calls["n"] += 1
        loss = real_loss(*args, **kwargs)
        return loss * float("nan") if calls["n"] == 4 else loss

    monkeypatch.setattr(train_module, "diffusion_loss", exploding_loss)
    with pytest.raises(TrainingStopped, match="bf16"):
        train_module.train(cfg)
    status = read_status(tmp_path / "run")
    assert status["state"] == "failed" and "NaN" in status["message"]
    ckpts = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert ckpts == ["step-000002"]
    assert not (tmp_path / "run" / "t.safetensors").exists()


def test_out_of_memory_saves_a_checkpoint_and_names_the_settings(sample_dataset, tmp_path, monkeypatch):
    import lora_studio.train as train_module
    from lora_studio.errors import TrainingStopped

    real_loss = train_module.diffusion_loss
    calls = {"n": 0}

    def oom_loss(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_loss(*args, **kwargs)

    monkeypatch.setattr(train_module, "diffusion_loss", oom_loss)
    with pytest.raises(TrainingStopped) as err:
        train_module.train(tiny_config(sample_dataset, tmp_path / "run", "train.max_train_steps=6"))
    for setting in ("train.batch_size", "dataset.resolution", "train.gradient_checkpointing"):
        assert setting in str(err.value)
    assert (tmp_path / "run" / "checkpoints" / "step-000002" / "trainer_state.json").is_file()


def _cli_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1",
               HF_HOME=str(tmp_path / "hf"))  # no accelerate default config: the launcher's defaults apply
    return env


@pytest.mark.slow
def test_cli_train_then_generate(sample_dataset, tmp_path, tiny_base_path):
    from lora_studio.models import TINY_NOTE

    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "lora_studio.cli", "train", str(ROOT / "configs" / "quickstart.yaml"),
           f"dataset.path={sample_dataset}", f"output_dir={run}", "train.max_train_steps=3", "dataset.resolution=64"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_cli_env(tmp_path), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "steps per epoch" in out.stdout + out.stderr
    assert TINY_NOTE in out.stdout + out.stderr
    adapter = run / "quickstart.safetensors"
    assert adapter.is_file()
    gen = subprocess.run([sys.executable, "-m", "lora_studio.cli", "generate", "--base", "tiny", "--lora", str(adapter),
                          "--prompt", "mychar, 1girl, green hair", "--seed", "1", "--steps", "2", "--out",
                          str(tmp_path / "images")], capture_output=True, text=True, env=_cli_env(tmp_path), timeout=300)
    assert gen.returncode == 0, gen.stderr[-3000:]
    assert list((tmp_path / "images").glob("*.png"))


@pytest.mark.slow
def test_cli_bad_dataset_gives_a_message_not_a_traceback(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for path, expected in ((tmp_path / "missing", "dataset.path"), (empty, str(empty))):
        out = subprocess.run([sys.executable, "-m", "lora_studio.cli", "train", str(ROOT / "configs" / "quickstart.yaml"),
                              f"dataset.path={path}", f"output_dir={tmp_path / 'run'}"],
                             capture_output=True, text=True, env=_cli_env(tmp_path), timeout=120)
        assert out.returncode == 2
        assert "Traceback" not in out.stderr
        assert expected in out.stderr


@pytest.mark.slow
def test_two_processes_train_one_adapter(sample_dataset, tmp_path, tiny_base_path):
    run = tmp_path / "run"
    env = _cli_env(tmp_path)
    env["ACCELERATE_USE_CPU"] = "1"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
           "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29517",
           "-m", "lora_studio.train", str(ROOT / "configs" / "quickstart.yaml"),
           f"dataset.path={sample_dataset}", f"output_dir={run}", "train.max_train_steps=2", "dataset.resolution=64",
           "sample.every_n_steps=0", "train.checkpoint_every_n_steps=1"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert "process 0 of 2 ready" in log and "process 1 of 2 ready" in log
    assert read_status(run)["world_size"] == 2
    assert sorted(p.name for p in run.glob("*.safetensors")) == ["quickstart.safetensors"]
    assert json.loads((run / "checkpoints" / "step-000001" / "trainer_state.json").read_text())["step"] == 1


def test_samples_denoise_with_the_prediction_type_the_run_trains(sample_dataset, tmp_path, monkeypatch):
    import lora_studio.generate as generate_module
    from lora_studio.train import train

    seen = []
    real_build = generate_module.sampler_scheduler

    def recording_build(sampler, config):
        seen.append(config["prediction_type"])
        return real_build(sampler, config)

    monkeypatch.setattr(generate_module, "sampler_scheduler", recording_build)
    train(tiny_config(sample_dataset, tmp_path / "run", "train.max_train_steps=1", "train.prediction_type=v_prediction"))
    assert seen == ["v_prediction"]  # the tiny base itself is an epsilon model


def test_sd1_results_stay_bit_identical_to_before_the_families_refactor(sample_dataset, tmp_path):
    """Recorded on main before SDXL came in (commit e76e43f): the same seed gives the same adapter, bit for bit,
    and the same losses."""
    import hashlib

    from lora_studio.train import train

    result = train(tiny_config(sample_dataset, tmp_path / "run", "train.max_train_steps=4", "dataset.flip=true",
                               "dataset.tag_dropout=0.2"))
    weights = load_file(result.adapter)
    digest = hashlib.sha256()
    for key in sorted(weights):
        digest.update(key.encode())
        digest.update(weights[key].float().numpy().tobytes())
    assert digest.hexdigest() == "c5b65c876b536916fb725c4666f3ad1f0a575c6c2b4046ecf5be0ef5d9b21dbe"
    assert [r["loss"] for r in read_metrics(tmp_path / "run")] == [1.103136, 1.073249, 1.067323, 1.076358]
