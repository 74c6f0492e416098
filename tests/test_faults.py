"""Faults in training: nothing on disk is ever half-written, a killed run resumes to the adapter an uninterrupted
run makes, and every failure ends in a message that says what to do, never a traceback. Bad input at the command
line: tests/test_cli.py."""

from __future__ import annotations

import errno
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from trainer_runs import (
    RESUMABLE,
    assert_checkpoints_complete,
    assert_no_leftovers,
    config,
    subprocess_env,
    wait_for,
)

from lora_studio.config import save_config
from lora_studio.errors import ConfigError, TrainingStopped, UserError
from lora_studio.runlog import read_metrics, read_status


def last_step(run_dir: Path) -> int:
    rows = read_metrics(run_dir)
    return rows[-1]["step"] if rows else 0


def assert_same_adapter(path: Path, expected: dict[str, torch.Tensor]) -> None:
    got = load_file(path)
    assert got.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-4, atol=1e-6, msg=key)


def write_previous_adapter(run_dir: Path) -> dict[Path, bytes]:
    """A valid adapter from an earlier run in the folder (kohya file + diffusers copy); returns its bytes."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tensors = {"lora_unet_mid_block_attentions_0_proj_in.lora_down.weight": torch.full((4, 64), 0.25),
               "lora_unet_mid_block_attentions_0_proj_in.lora_up.weight": torch.full((64, 4), 0.5),
               "lora_unet_mid_block_attentions_0_proj_in.alpha": torch.tensor(2.0)}
    save_file(tensors, str(run_dir / "t.safetensors"), metadata={"ss_steps": "3"})
    (run_dir / "diffusers").mkdir(exist_ok=True)
    save_file({"unet.mid.lora_A.weight": torch.ones(4, 64)},
              str(run_dir / "diffusers" / "pytorch_lora_weights.safetensors"))
    return {p: p.read_bytes() for p in (run_dir / "t.safetensors", run_dir / "diffusers" / "pytorch_lora_weights.safetensors")}


def assert_unchanged(files: dict[Path, bytes]) -> None:
    for path, data in files.items():
        assert path.read_bytes() == data, f"{path} changed"
    load_file(next(iter(files)))  # and it is still a readable adapter


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, tiny_base_path) -> Path:
    from lora_studio.sample_data import make_sample_dataset

    return make_sample_dataset(tmp_path_factory.mktemp("faults") / "dataset", count=6, size=96)


@pytest.fixture(scope="module")
def uninterrupted(dataset, tmp_path_factory) -> dict[str, torch.Tensor]:
    """The adapter of the RESUMABLE run when nothing goes wrong."""
    from lora_studio.train import train

    result = train(config(dataset, tmp_path_factory.mktemp("straight") / "run", *RESUMABLE))
    assert result.state == "finished" and result.step == 6
    return load_file(result.adapter)


def resume_to_the_end(dataset: Path, run: Path, uninterrupted: dict) -> None:
    from lora_studio.train import train

    resumed = train(config(dataset, run, *RESUMABLE, "train.resume=latest"))
    assert resumed.state == "finished" and resumed.step == 6
    assert_same_adapter(resumed.adapter, uninterrupted)
    assert [row["step"] for row in read_metrics(run)] == list(range(1, 7)), "each step logged once"
    assert read_status(run)["state"] == "finished"
    assert_no_leftovers(run)


# ---------------------------------------------------------------- kill -9


@pytest.mark.slow
def test_kill_9_at_a_random_moment_then_resume_latest_matches_an_uninterrupted_run(dataset, uninterrupted, tmp_path):
    run, config_path = tmp_path / "run", tmp_path / "config.yaml"
    save_config(config(dataset, run, *RESUMABLE), config_path)
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    after_step, extra_wait = rng.randint(1, 5), rng.uniform(0.0, 0.4)
    print(f"kill point (seed {seed}): after step {after_step} was logged, plus {extra_wait:.2f} s")

    with open(tmp_path / "train.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "lora_studio.train", str(config_path)], stdout=log,
                                stderr=subprocess.STDOUT, env=subprocess_env(tmp_path))
        try:
            wait_for(lambda: proc.poll() is not None or last_step(run) >= after_step)
            time.sleep(extra_wait)
        finally:
            proc.kill()  # SIGKILL: no handler, no cleanup
            proc.wait()
    # -9: killed; 0 only if the run outran the kill, and the resume below must then still agree
    assert proc.returncode in (-9, 0), (tmp_path / "train.log").read_text()[-2000:]
    assert_checkpoints_complete(run)
    resume_to_the_end(dataset, run, uninterrupted)


# A stand-in for the trainer's command line that dies by SIGKILL half-way through writing one file.
# It patches the libraries' save functions from outside: production code has no test hooks.
KILL_DURING_SAVE = r'''
import os, signal, sys
import accelerate.checkpointing
import lora_studio.lora
from safetensors.torch import save as serialize

def die_half_way(path, data):
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)

mode = sys.argv[1]
if mode == "checkpoint":  # the second checkpoint (step 4) dies while writing its weights
    real_save = accelerate.checkpointing.save
    def save(obj, f, *args, **kwargs):
        if ".step-000004.partial" in str(f) and os.path.basename(str(f)).startswith("model"):
            die_half_way(f, serialize({k: v.contiguous() for k, v in obj.items()}))
        return real_save(obj, f, *args, **kwargs)
    accelerate.checkpointing.save = save
elif mode == "adapter":  # the adapter at the end of the run dies half-written
    def save_file(tensors, filename, metadata=None):
        die_half_way(filename, serialize(tensors, metadata))
    lora_studio.lora.save_file = save_file

from lora_studio.train import main
sys.exit(main(sys.argv[2:]))
'''


def run_killed_during_save(mode: str, dataset: Path, run: Path, tmp_path: Path) -> str:
    driver, config_path = tmp_path / "kill_during_save.py", tmp_path / "config.yaml"
    driver.write_text(KILL_DURING_SAVE)
    save_config(config(dataset, run, *RESUMABLE), config_path)
    out = subprocess.run([sys.executable, str(driver), mode, str(config_path)], capture_output=True, text=True,
                         env=subprocess_env(tmp_path), timeout=600)
    assert out.returncode == -9, out.stderr[-3000:]
    return out.stderr


@pytest.mark.slow
def test_killed_while_saving_a_checkpoint_keeps_the_previous_one(dataset, uninterrupted, tmp_path):
    from lora_studio.train import train

    run = tmp_path / "run"
    run_killed_during_save("checkpoint", dataset, run, tmp_path)
    assert assert_checkpoints_complete(run) == ["step-000002"]
    assert (run / "checkpoints" / ".step-000004.partial").is_dir(), "the test should have cut a save short"
    assert read_status(run)["state"] == "running"  # what a killed process leaves; the studio reports it as failed

    with pytest.raises(ConfigError, match="other lora settings"):  # a resume must not mix adapters
        train(config(dataset, run, *RESUMABLE, "train.resume=latest", "lora.rank=8"))
    resume_to_the_end(dataset, run, uninterrupted)


@pytest.mark.slow
def test_killed_while_writing_the_adapter_keeps_the_previous_one(dataset, uninterrupted, tmp_path):
    run = tmp_path / "run"
    previous = write_previous_adapter(run)
    run_killed_during_save("adapter", dataset, run, tmp_path)
    assert_unchanged(previous)
    cut = list(run.glob(".t.safetensors.*.tmp"))
    assert len(cut) == 1 and cut[0].stat().st_size > 0, "the test should have cut the adapter write short"
    assert assert_checkpoints_complete(run) == ["step-000002", "step-000004"]
    resume_to_the_end(dataset, run, uninterrupted)


# ---------------------------------------------------------------- NaN / inf


def nth_call_is_bad(monkeypatch, n: int, bad: float) -> None:
    import lora_studio.train as train_module

    real_loss, calls = train_module.diffusion_loss, {"n": 0}

    def loss(*args, **kwargs):
        calls["n"] += 1
        value = real_loss(*args, **kwargs)
        return value * bad if calls["n"] == n else value  # what an fp16 overflow gives

    monkeypatch.setattr(train_module, "diffusion_loss", loss)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_bad_loss_stops_with_advice_and_the_previous_adapter_stays_byte_identical(dataset, tmp_path, monkeypatch,
                                                                                  bad):
    from lora_studio.train import train

    run = tmp_path / "run"
    previous = write_previous_adapter(run)
    nth_call_is_bad(monkeypatch, 4, bad)
    with pytest.raises(TrainingStopped) as err:
        train(config(dataset, run, "train.max_train_steps=6", "train.checkpoint_every_n_steps=2"))
    message = str(err.value)
    assert "step 4" in message and "train.mixed_precision=bf16" in message and "train.resume=latest" in message
    status = read_status(run)
    assert status["state"] == "failed" and status["message"] == message
    assert assert_checkpoints_complete(run) == ["step-000002"]
    assert_unchanged(previous)


@pytest.mark.parametrize(("poisoned_step", "kept"), [(2, []), (3, ["step-000002"])])
def test_weights_turned_nan_by_an_update_are_never_saved(dataset, tmp_path, monkeypatch, poisoned_step, kept):
    """The loss of the poisoned step was finite; the checkpoint (step 2) or the adapter (last step) after it
    would have stored NaNs."""
    from lora_studio.train import train

    real_step, calls = torch.optim.AdamW.step, {"n": 0}

    def step(self, *args, **kwargs):
        out = real_step(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == poisoned_step:
            with torch.no_grad():
                self.param_groups[0]["params"][0].fill_(float("nan"))
        return out

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    run = tmp_path / "run"
    previous = write_previous_adapter(run)
    with pytest.raises(TrainingStopped, match=f"NaN or infinite by step {poisoned_step}"):
        train(config(dataset, run, "train.max_train_steps=3", "train.checkpoint_every_n_steps=2"))
    assert assert_checkpoints_complete(run) == kept
    assert_unchanged(previous)
    assert read_status(run)["state"] == "failed"


# ---------------------------------------------------------------- full disk, unwritable folder


def _refuse(code: int, filename: str | None = None):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), filename)
    return refuse


def test_full_disk_while_saving_a_checkpoint(dataset, tmp_path, monkeypatch):
    import accelerate.checkpointing

    from lora_studio.train import train

    real_save = accelerate.checkpointing.save

    def save(obj, f, *args, **kwargs):
        if ".step-000004.partial" in str(f):
            _refuse(errno.ENOSPC, str(f))()
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(accelerate.checkpointing, "save", save)
    run = tmp_path / "run"
    previous = write_previous_adapter(run)
    with pytest.raises(UserError) as err:
        train(config(dataset, run, "train.max_train_steps=5", "train.checkpoint_every_n_steps=2"))
    message = str(err.value)
    assert "disk is full" in message and ".step-000004.partial" in message and "train.resume=latest" in message
    assert read_status(run)["state"] == "failed" and read_status(run)["message"] == message
    assert assert_checkpoints_complete(run) == ["step-000002"]
    assert not (run / "checkpoints" / ".step-000004.partial").exists(), "a failed save frees its space"
    assert_unchanged(previous)


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "disk is full"), (errno.EACCES, "permission denied"),
                                             (errno.EROFS, "read-only")])
def test_unwritable_adapter_keeps_the_previous_one_and_the_checkpoints(dataset, tmp_path, monkeypatch, code, words):
    import lora_studio.lora
    from lora_studio.train import train

    monkeypatch.setattr(lora_studio.lora, "save_file", _refuse(code))  # a write() error names no file
    run = tmp_path / "run"
    previous = write_previous_adapter(run)
    with pytest.raises(UserError) as err:
        train(config(dataset, run, "train.max_train_steps=3", "train.checkpoint_every_n_steps=2"))
    message = str(err.value)
    assert words in message and str(run / "t.safetensors") in message and "train.resume=latest" in message
    assert read_status(run)["state"] == "failed"
    assert assert_checkpoints_complete(run) == ["step-000002"]
    assert_unchanged(previous)
    assert not list(run.glob(".t.safetensors.*.tmp"))


# What torch.save and safetensors really raise when the disk fills up: their own types, no errno attribute.
def _torch_full(*args, **kwargs):
    raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 1472 vs 1364 "
                       "PytorchStreamWriter failed writing file data/0: file write failed")


def _safetensors_full(*args, **kwargs):
    from safetensors import SafetensorError

    raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: '
                          '"No space left on device" })')


def _refused_at_step_4(monkeypatch, module, name: str, fail) -> None:
    real = getattr(module, name)

    def writer(obj, f, *args, **kwargs):
        if ".step-000004.partial" in str(f):
            fail()
        return real(obj, f, *args, **kwargs)

    monkeypatch.setattr(module, name, writer)


@pytest.mark.parametrize("writer", ["torch.save", "safetensors"])
def test_a_write_error_of_any_type_while_saving_a_checkpoint_is_a_message(dataset, tmp_path, monkeypatch, writer):
    import accelerate.utils.other

    from lora_studio.train import train

    if writer == "torch.save":  # the optimizer, scheduler and random states
        _refused_at_step_4(monkeypatch, torch, "save", _torch_full)
    else:  # the adapter weights of the checkpoint
        _refused_at_step_4(monkeypatch, accelerate.utils.other, "safe_save_file", _safetensors_full)
    run = tmp_path / "run"
    previous = write_previous_adapter(run)
    with pytest.raises(UserError) as err:
        train(config(dataset, run, "train.max_train_steps=5", "train.checkpoint_every_n_steps=2"))
    message = str(err.value)
    assert ".step-000004.partial" in message and "train.resume=latest" in message
    assert ("disk is full" if writer == "safetensors" else "free space") in message
    assert read_status(run)["state"] == "failed" and read_status(run)["message"] == message
    assert assert_checkpoints_complete(run) == ["step-000002"]
    assert not (run / "checkpoints" / ".step-000004.partial").exists()
    assert_unchanged(previous)


@pytest.mark.parametrize("fail", [_safetensors_full, _torch_full], ids=["safetensors", "runtime-error"])
def test_a_write_error_of_any_type_while_saving_the_adapter_is_a_message(dataset, tmp_path, monkeypatch, fail):
    import lora_studio.lora
    from lora_studio.train import train

    monkeypatch.setattr(lora_studio.lora, "save_file", fail)
    run = tmp_path / "run"
    previous = write_previous_adapter(run)
    with pytest.raises(UserError) as err:
        train(config(dataset, run, "train.max_train_steps=3", "train.checkpoint_every_n_steps=2"))
    message = str(err.value)
    assert str(run / "t.safetensors") in message and "train.resume=latest" in message
    assert read_status(run)["state"] == "failed"
    assert assert_checkpoints_complete(run) == ["step-000002"]
    assert_unchanged(previous)
    assert not list(run.glob(".t.safetensors.*.tmp"))


def test_full_disk_while_logging_the_loss(dataset, tmp_path, monkeypatch):
    import lora_studio.runlog
    from lora_studio.train import train

    real_open, run = open, tmp_path / "run"

    def open_metrics(path, *args, **kwargs):
        if str(path).endswith("metrics.jsonl") and last_step(run) >= 2:
            _refuse(errno.ENOSPC)()
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(lora_studio.runlog, "open", open_metrics, raising=False)
    with pytest.raises(UserError) as err:
        train(config(dataset, run, "train.max_train_steps=4", "train.checkpoint_every_n_steps=2"))
    assert "disk is full" in str(err.value) and str(run / "metrics.jsonl") in str(err.value)
    assert read_status(run)["state"] == "failed"
    assert assert_checkpoints_complete(run) == ["step-000002"]


def test_output_folder_that_cannot_be_created_is_named(dataset, tmp_path):
    from lora_studio.train import train

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder's parent should be")
    with pytest.raises(UserError, match="output_dir") as err:
        train(config(dataset, blocker / "run"))
    assert str(blocker / "run") in str(err.value)
