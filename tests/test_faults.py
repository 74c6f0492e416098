"""Faults in training and bad input at the command line: nothing on disk is ever half-written, a killed run
resumes to the adapter an uninterrupted run makes, and every failure ends in a message that says what to do
(exit code 2 for bad input), never a traceback."""

from __future__ import annotations

import errno
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from lora_studio.checkpoints import list_checkpoints, read_trainer_state
from lora_studio.config import load_config, save_config
from lora_studio.errors import ConfigError, TrainingStopped, UserError
from lora_studio.runlog import read_metrics, read_status

ROOT = Path(__file__).resolve().parent.parent
# Six steps, checkpoints after steps 2 and 4; cosine LR and flips so a resume that lost any state would show.
RESUMABLE = ("train.max_train_steps=6", "train.checkpoint_every_n_steps=2", "train.lr_scheduler=cosine",
             "dataset.flip=true", "train.checkpoints_total_limit=3")


def overrides(dataset: Path, run_dir: Path, *extra: str) -> list[str]:
    return ["name=t", "base=tiny", f"dataset.path={dataset}", "dataset.trigger_word=mychar", "dataset.resolution=64",
            "dataset.bucket_step=32", "lora.rank=4", "lora.alpha=2", "train.learning_rate=1e-3",
            f"output_dir={run_dir}", "sample.steps=1", *extra]


def config(dataset: Path, run_dir: Path, *extra: str):
    return load_config(None, overrides(dataset, run_dir, *extra))


def subprocess_env(tmp_path: Path) -> dict:
    env = dict(os.environ)  # LORA_STUDIO_CACHE from conftest: the tiny base is built once
    env.update(HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1",
               HF_HOME=str(tmp_path / "hf"))  # no accelerate default config: the launcher's defaults apply
    return env


def wait_for(predicate, timeout: float = 300.0, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(poll)


def last_step(run_dir: Path) -> int:
    rows = read_metrics(run_dir)
    return rows[-1]["step"] if rows else 0


def assert_same_adapter(path: Path, expected: dict[str, torch.Tensor]) -> None:
    got = load_file(path)
    assert got.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-4, atol=1e-6, msg=key)


def assert_checkpoints_complete(run_dir: Path) -> list[str]:
    """Every checkpoint `resume: latest` could pick is whole: its state and finite weights load."""
    names = []
    for checkpoint in list_checkpoints(run_dir):
        assert read_trainer_state(checkpoint)["step"] == int(checkpoint.name.split("-")[1])
        weights = load_file(checkpoint / "model.safetensors")
        assert weights and all(torch.isfinite(v).all() for v in weights.values()), checkpoint
        names.append(checkpoint.name)
    return names


def assert_no_leftovers(run_dir: Path) -> None:
    leftovers = [p for p in run_dir.rglob(".*") if p.name.endswith((".tmp", ".partial", ".old"))]
    assert leftovers == [], leftovers


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


# ---------------------------------------------------------------- atomic files


def test_a_folder_left_by_a_crash_between_the_two_renames_comes_back(tmp_path):
    from lora_studio.atomic import atomic_dir
    from lora_studio.checkpoints import clean_partials

    run = tmp_path / "run"
    (run / ".diffusers.old").mkdir(parents=True)  # the state right after the first rename of atomic_dir
    (run / ".diffusers.old" / "pytorch_lora_weights.safetensors").write_bytes(b"previous")
    (run / ".diffusers.x1y2.tmp").mkdir()
    (run / ".t.safetensors.x1y2.tmp").write_bytes(b"half")
    (run / "samples").mkdir()
    (run / "samples" / ".step000002_0.png.x1y2.tmp").write_bytes(b"half")
    clean_partials(run)
    assert (run / "diffusers" / "pytorch_lora_weights.safetensors").read_bytes() == b"previous"
    assert_no_leftovers(run)

    with atomic_dir(run / "diffusers") as tmp:
        (tmp / "pytorch_lora_weights.safetensors").write_bytes(b"next")
    assert (run / "diffusers" / "pytorch_lora_weights.safetensors").read_bytes() == b"next"
    assert_no_leftovers(run)


def test_atomic_writes_get_the_usual_permissions(tmp_path):
    from lora_studio.atomic import atomic_dir, atomic_path

    mask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.safetensors") as tmp:
            save_file({"x": torch.zeros(2)}, str(tmp))  # safetensors writes its files 0600
        with atomic_dir(tmp_path / "d") as tmp:
            save_file({"x": torch.zeros(2)}, str(tmp / "w.safetensors"))
    finally:
        os.umask(mask)
    assert (tmp_path / "a.safetensors").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "d" / "w.safetensors").stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------- the command line: bad input is exit code 2


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
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(OOM_SITECUSTOMIZE)
    run, config_path = tmp_path / "run", tmp_path / "config.yaml"
    save_config(config(dataset, run, "train.max_train_steps=4"), config_path)
    env = subprocess_env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path / "site"), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-m", "lora_studio.cli", "train", str(config_path)], capture_output=True,
                         text=True, env=env, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 2, log[-3000:]  # as for a bad config, although accelerate's launcher says 1
    assert "error: the GPU ran out of memory at step 2" in log, log[-3000:]
    for setting in ("train.batch_size", "dataset.resolution", "train.gradient_checkpointing", "train.resume=latest"):
        assert setting in log
    assert "Traceback" not in log
    assert assert_checkpoints_complete(run) == ["step-000001"]
    assert read_status(run)["state"] == "failed"


STATUS_UNWRITABLE_SITECUSTOMIZE = '''
import errno, os
import lora_studio.runlog as runlog

def refuse(path, text):  # status.json cannot be written: the disk is full
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

runlog.write_text_atomic = refuse
'''


@pytest.mark.slow
def test_cli_exits_2_with_the_message_when_status_json_cannot_be_written(dataset, tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(STATUS_UNWRITABLE_SITECUSTOMIZE)
    run, config_path = tmp_path / "run", tmp_path / "config.yaml"
    save_config(config(dataset, run, "train.max_train_steps=2"), config_path)
    env = subprocess_env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path / "site"), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-m", "lora_studio.cli", "train", str(config_path)], capture_output=True,
                         text=True, env=env, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 2, log[-3000:]
    assert f"error: could not write the run status '{run / 'status.json'}': the disk is full" in log, log[-3000:]
    assert "Traceback" not in log and not (run / "status.json").exists()
