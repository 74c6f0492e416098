"""The command line: bad input is exit code 2 with a message naming the key or file, a bad picture is skipped by
name, and a run that fails (out of memory, an unwritable status) says what to do, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from trainer_runs import (
    STATUS_UNWRITABLE_SITECUSTOMIZE,
    assert_checkpoints_complete,
    config,
    subprocess_env,
    train_in_a_process,
)

from lora_studio.config import save_config
from lora_studio.runlog import read_status

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, tiny_base_path) -> Path:
    from lora_studio.sample_data import make_sample_dataset

    return make_sample_dataset(tmp_path_factory.mktemp("cli") / "dataset", count=6, size=96)


def run_cli(capsys, *args: str) -> tuple[int, str]:
    from lora_studio.cli import main

    try:
        code = main(list(args))
    except SystemExit as e:  # argparse's own errors
        code = e.code
    return code, capsys.readouterr().err


def write_yaml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("yaml_text", "extra", "named"), [
    ("base: tiny\ntrain:\n  max_train_step: 5\n", [], "train.max_train_step"),  # unknown key (a typo) in the file
    ("base: tiny\n", ["train.batch_size=two"], "train.batch_size"),  # wrong type
    ("base: tiny\ntrain:\n  learning_rate: [1]\n", [], "train.learning_rate"),  # wrong type in the file
    ("base: tiny\n", ["train.max_train_steps=-3"], "train.max_train_steps"),  # negative steps
    ("base: tiny\nlora:\n  rank: 0\n", [], "lora.rank"),  # rank 0
    ("base: tiny\ndataset:\n  path: {missing}\n", [], "dataset.path"),  # missing dataset folder
    ("base: tiny\nsample:\n  sampler: heun2\n", [], "sample.sampler"),  # unknown sampler
], ids=["unknown-key", "wrong-type", "wrong-type-in-file", "negative-steps", "rank-0", "missing-dataset",
        "unknown-sampler"])
def test_cli_train_bad_config_names_the_key(capsys, tmp_path, yaml_text, extra, named):
    config_path = write_yaml(tmp_path / "bad.yaml", yaml_text.format(missing=tmp_path / "no-such-folder"))
    code, err = run_cli(capsys, "train", str(config_path), *extra, f"output_dir={tmp_path / 'run'}")
    assert code == 2 and err.startswith("error: ") and named in err and "Traceback" not in err
    assert not (tmp_path / "run").exists(), "nothing is started for a bad config"


@pytest.mark.parametrize(("content", "extra", "named"), [
    (b"base: tiny\nname: \x83L\x83\x83\x83\x89\n", [], "save it as UTF-8"),  # Shift_JIS, as Japanese Windows saves
    (("base: tiny\nsample:\n  prompts: " + "[" * 5000 + "]" * 5000 + "\n").encode(), [], "nested more than"),
    (b"base: tiny\n", ["sample.prompts=" + "[" * 40 + "]" * 40], "nested more than"),
    (b"base: tiny\n", [f"train.seed={2**63}"], "train.seed"),
    (b"base: tiny\n", ["train.seed=-1"], "train.seed"),
    (b"base: tiny\n", ["sample.seed=-5"], "sample.seed"),  # at load, not when the samples are drawn
    (b"base: tiny\n", [f"train.max_train_steps={10**30}"], "train.max_train_steps"),
    (b"base: tiny\n", [f"train.learning_rate={10**400}"], "train.learning_rate"),
    (b"base: tiny\n", ["train.learning_rate=0"], "train.learning_rate"),
    (b"base: tiny\n", ["train.learning_rate=5"], "train.learning_rate"),
    (b"base: tiny\nlora:\n  alpha: 0\n", [], "lora.alpha"),
    (b'base: tiny\nname: "my\\nlora"\n', [], "name"),
    (b'base: tiny\ndataset:\n  trigger_word: "mychar\\r\\nx"\n', [], "dataset.trigger_word"),
    (b'base: tiny\ndataset:\n  path: "datasets/a\\0b"\n', [], "dataset.path"),
    (b"base: tiny\n", ["base=tiny\x00.safetensors"], "base"),
], ids=["not-utf8", "deep-file", "deep-override", "seed-2**63", "seed-negative", "sample-seed", "huge-steps",
        "huge-lr", "lr-0", "lr-5", "alpha-0", "name-newline", "trigger-control", "path-nul", "base-nul"])
def test_cli_train_refuses_inputs_that_would_crash_or_train_nothing(capsys, tmp_path, content, extra, named):
    config_path = tmp_path / "bad.yaml"
    config_path.write_bytes(content)
    code, err = run_cli(capsys, "train", str(config_path), *extra, f"output_dir={tmp_path / 'run'}")
    assert code == 2 and err.startswith("error: ") and named in err and "Traceback" not in err, err
    assert not (tmp_path / "run").exists(), "nothing is started for a bad config"


def test_alpha_0_says_what_kohya_does_and_what_to_use(capsys, tmp_path):
    code, err = run_cli(capsys, "train", str(write_yaml(tmp_path / "c.yaml", "base: tiny\n")), "lora.alpha=0",
                        "lora.rank=16")
    assert code == 2 and "train nothing" in err and "lora.alpha=8" in err and "kohya" in err and "lora.alpha=16" in err


@pytest.mark.parametrize(("extra", "named"), [
    (["name=../elsewhere"], "name"), (["seed=-1"], "seed"), ("transfer.learning_rate=0", "transfer.learning_rate"),
    (["data.source=cats_and_dogs", "data.url=file:///etc/passwd"], "only https://"),
    (["data.source=cats_and_dogs", "data.url=http://example.com/x.zip"], "only https://"),
])
def test_cli_lesson_refuses_the_same_inputs(capsys, tmp_path, extra, named):
    extra = [extra] if isinstance(extra, str) else extra
    code, err = run_cli(capsys, "lesson", str(ROOT / "configs" / "lesson-quick.yaml"), *extra,
                        f"output_dir={tmp_path / 'run'}")
    assert code == 2 and named in err and "Traceback" not in err, err
    assert not (tmp_path / "run").exists()


def test_cli_generate_unknown_sampler_and_pickle_base(capsys, tmp_path):
    code, err = run_cli(capsys, "generate", "--base", "tiny", "--prompt", "x", "--sampler", "heun2")
    assert code == 2 and "--sampler" in err and "heun2" in err and "Traceback" not in err
    pickle_base = tmp_path / "model.ckpt"
    pickle_base.write_bytes(b"not really a checkpoint")
    code, err = run_cli(capsys, "generate", "--base", str(pickle_base), "--prompt", "x", "--out", str(tmp_path))
    assert code == 2 and "pickle" in err and "allow_pickle" in err and "Traceback" not in err


@pytest.mark.slow
def test_cli_bad_config_in_a_real_process(tmp_path):
    config_path = write_yaml(tmp_path / "bad.yaml", "base: tiny\ntrain:\n  max_train_step: 5\n")
    out = subprocess.run([sys.executable, "-m", "lora_studio.cli", "train", str(config_path)], capture_output=True,
                         text=True, env=subprocess_env(tmp_path), timeout=120)
    assert out.returncode == 2 and "train.max_train_step" in out.stderr and "Traceback" not in out.stderr


BAD_PICTURES = {
    "truncated.jpg": lambda p: p.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 50),
    "empty.png": lambda p: p.write_bytes(b""),
    "notes.png": lambda p: p.write_text("a text file, not a picture\n"),
    "dot.png": lambda p: Image.new("RGB", (1, 1)).save(p),
}


@pytest.mark.slow
def test_cli_train_warns_about_each_bad_picture_by_name_and_trains(dataset, tmp_path):
    folder = tmp_path / "with-bad-pictures"
    shutil.copytree(dataset, folder)
    for name, make in BAD_PICTURES.items():
        make(folder / name)
    run, config_path = tmp_path / "run", tmp_path / "config.yaml"
    save_config(config(folder, run, "train.max_train_steps=1"), config_path)
    out = subprocess.run([sys.executable, "-m", "lora_studio.cli", "train", str(config_path)], capture_output=True,
                         text=True, env=subprocess_env(tmp_path), timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    for name in BAD_PICTURES:
        assert f"skipped '{name}'" in log
    assert "Traceback" not in log
    assert (run / "t.safetensors").is_file() and read_status(run)["state"] == "finished"


# Raises CUDA's out-of-memory error inside the second training step of the trainer process only.
OOM_SITECUSTOMIZE = r'''
import os, sys
if "lora_studio.train" in sys.orig_argv:
    import torch
    import torch.nn.functional as F
    real_mse_loss, calls = F.mse_loss, [0]
    def mse_loss(*args, **kwargs):
        calls[0] += 1
        if calls[0] == 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (simulated by the test)")
        return real_mse_loss(*args, **kwargs)
    F.mse_loss = mse_loss
'''


@pytest.mark.slow
def test_cli_out_of_memory_names_the_settings_keeps_a_checkpoint_and_shows_no_traceback(dataset, tmp_path):
    out, run = train_in_a_process(dataset, tmp_path, 4, OOM_SITECUSTOMIZE)
    log = out.stdout + out.stderr
    assert out.returncode == 2, log[-3000:]  # as for a bad config, although accelerate's launcher says 1
    assert "error: the GPU ran out of memory at step 2" in log, log[-3000:]
    for setting in ("train.batch_size", "dataset.resolution", "train.gradient_checkpointing", "train.resume=latest"):
        assert setting in log
    assert "Traceback" not in log
    assert assert_checkpoints_complete(run) == ["step-000001"]
    assert read_status(run)["state"] == "failed"


@pytest.mark.slow
def test_cli_exits_2_with_the_message_when_status_json_cannot_be_written(dataset, tmp_path):
    out, run = train_in_a_process(dataset, tmp_path, 2, STATUS_UNWRITABLE_SITECUSTOMIZE)
    log = out.stdout + out.stderr
    assert out.returncode == 2, log[-3000:]
    assert f"error: could not write the run status '{run / 'status.json'}': the disk is full" in log, log[-3000:]
    assert "Traceback" not in log and not (run / "status.json").exists()
