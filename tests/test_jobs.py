"""jobs.py: one training at a time, stop/resume, state on disk. A fake trainer checks the mechanics fast;
one real short run on the tiny base checks the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lora_studio.config import TrainConfig, load_dataclass
from lora_studio.errors import UserError
from lora_studio.jobs import LOCK_FILE, LOG_FILE, Jobs, TrainingBusy

# Behaves like train.py as far as the studio can see: status.json, metrics.jsonl, stop.request, SIGTERM.
FAKE_TRAINER = r'''
import json, os, signal, sys, time
from pathlib import Path
mode, run_dir = sys.argv[1], Path(sys.argv[2])
stop = {"now": False}
def on_term(*_):
    stop["now"] = True
signal.signal(signal.SIGTERM, on_term)
def status(state, step, message=""):
    tmp = run_dir / ".status.tmp"
    tmp.write_text(json.dumps({"state": state, "step": step, "total_steps": 1000, "epoch": 0, "message": message,
                               "adapter": None, "pid": os.getpid()}))
    os.replace(tmp, run_dir / "status.json")
print("args:", " ".join(sys.argv[3:]), flush=True)
if mode == "crash":
    print("error: dataset 'x' has no usable images", flush=True)
    sys.exit(2)
(run_dir / "stop.request").unlink(missing_ok=True)
step = 0
while not stop["now"] and step < 1000:
    step += 1
    with open(run_dir / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": step, "loss": 1.0 / step}) + "\n")
    status("running", step)
    if mode != "deaf" and (run_dir / "stop.request").exists():
        break
    time.sleep(0.05)
(run_dir / "fake.safetensors").write_bytes(b"adapter")
status("stopped", step, "stopped; resume with train.resume=latest")
'''


@pytest.fixture
def jobs(tmp_path) -> Jobs:
    (tmp_path / "outputs").mkdir()
    return Jobs(tmp_path / "outputs")


@pytest.fixture
def fake(tmp_path):
    script = tmp_path / "fake_trainer.py"
    script.write_text(FAKE_TRAINER)

    def command(jobs: Jobs, name: str, mode: str = "obey", *extra: str) -> list[str]:
        return [sys.executable, str(script), mode, str(jobs.outputs / name), *extra]

    return command


def _config(name: str) -> TrainConfig:
    return load_dataclass(TrainConfig, {"name": name, "base": "tiny"})


def _wait_for(predicate, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def test_one_training_at_a_time_and_stop_saves(jobs, fake):
    first = jobs.start(_config("a"), command=fake(jobs, "a"))
    assert first.alive and (jobs.outputs / "a" / "config.yaml").is_file()
    _wait_for(lambda: jobs.status("a").step > 2)

    with pytest.raises(TrainingBusy, match="run 'a'"):
        jobs.start(_config("b"), command=fake(jobs, "b"))
    assert not (jobs.outputs / "b").exists()

    assert "stop requested" in jobs.stop()
    done = jobs.wait("a", timeout=120)
    assert done.state == "stopped" and not done.alive
    assert done.adapter == jobs.outputs / "a" / "fake.safetensors"
    assert done.metrics and done.metrics[-1]["step"] == done.step
    assert not (jobs.outputs / LOCK_FILE).exists()
    with pytest.raises(UserError, match="nothing to stop"):
        jobs.stop()

    # the lock is free again, and an existing run name is never reused silently
    with pytest.raises(UserError, match="already exists"):
        jobs.start(_config("a"), command=fake(jobs, "a"))
    assert jobs.new_run_name("a") == "a-2"
    jobs.start(_config("b"), command=fake(jobs, "b"))
    jobs.stop()
    assert jobs.wait("b", timeout=120).state == "stopped"
    assert [r.name for r in jobs.list_runs()] == ["b", "a"]
    assert len(jobs.adapters()) == 2


def test_a_reopened_studio_finds_the_running_training(jobs, fake):
    jobs.start(_config("a"), command=fake(jobs, "a"))
    reopened = Jobs(jobs.outputs)  # a new page / a restarted studio: only the disk is shared
    assert reopened.active() == jobs.outputs / "a"
    status = _wait_for(lambda: (s := reopened.status()).state == "running" and s)
    assert status.name == "a" and status.alive and 0 < status.progress < 1
    reopened.stop()
    assert jobs.wait("a", timeout=120).state == "stopped"


def test_stale_lock_of_a_dead_process_is_cleared(jobs, fake):
    dead = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    dead.wait()
    (jobs.outputs / LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "run_dir": str(jobs.outputs / "old")}))
    assert jobs.active() is None and not (jobs.outputs / LOCK_FILE).exists()
    jobs.start(_config("a"), command=fake(jobs, "a"))
    jobs.stop()
    jobs.wait("a", timeout=120)


def test_sigterm_when_the_trainer_ignores_the_stop_file(jobs, fake):
    jobs.start(_config("a"), command=fake(jobs, "a", "deaf"))
    _wait_for(lambda: jobs.status("a").state == "running")
    jobs.stop(grace_s=1.0)
    done = jobs.wait("a", timeout=120)
    assert done.state == "stopped" and done.step < 1000


def test_a_crash_shows_the_error_from_the_log(jobs, fake):
    jobs.start(_config("a"), command=fake(jobs, "a", "crash"))
    done = jobs.wait("a", timeout=120)
    assert done.state == "failed"
    assert "no usable images" in done.message
    assert "args:" in done.log_tail


def test_resume_relaunches_with_the_run_config(jobs, fake):
    jobs.start(_config("a"), command=fake(jobs, "a"))
    jobs.stop()
    jobs.wait("a", timeout=120)
    status = jobs.resume("a", command=fake(jobs, "a", "obey", "train.resume=latest"))
    assert status.state in ("starting", "running")
    assert not (jobs.outputs / "a" / "stop.request").exists() or status.alive
    jobs.stop()
    done = jobs.wait("a", timeout=120)
    assert done.state == "stopped"
    assert "train.resume=latest" in (jobs.outputs / "a" / "train.log").read_text()
    with pytest.raises(UserError, match="not found"):
        jobs.resume("../etc")


@pytest.mark.slow
def test_real_short_training_on_the_tiny_base(jobs, sample_dataset, tiny_base_path):
    config = load_dataclass(TrainConfig, {
        "name": "real", "base": "tiny",
        "dataset": {"path": str(sample_dataset), "trigger_word": "mychar", "resolution": 64, "bucket_step": 32},
        "lora": {"rank": 2, "alpha": 1}, "train": {"max_train_steps": 2, "learning_rate": 1e-3},
        "sample": {"steps": 2},
    })
    jobs.start(config)
    with pytest.raises(TrainingBusy):
        jobs.start(load_dataclass(TrainConfig, {"name": "other", "base": "tiny"}))
    done = jobs.wait("real", timeout=300)
    assert done.state == "finished", done.log_tail
    assert done.adapter is not None and done.adapter.suffix == ".safetensors" and done.adapter.is_file()
    assert [row["step"] for row in done.metrics][-1] == 2
    assert os.path.getsize(done.adapter) > 0
    assert Path(done.run_dir / "config.yaml").is_file()


def test_a_trainer_the_studio_starts_logs_in_english_whatever_the_locale(jobs, monkeypatch):
    """The page rewrites the trainer's command-line advice ("try it: lora-studio generate ...") into its own
    language, so the trainer must not have spoken the server's."""
    monkeypatch.setenv("LORA_STUDIO_LANG", "ja")
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    jobs.start(_config("a"), command=[sys.executable, "-c", "import os; print('lang=' + os.environ['LORA_STUDIO_LANG'])"])
    log = jobs.outputs / "a" / LOG_FILE
    said = _wait_for(lambda: log.is_file() and [line for line in log.read_text().splitlines() if line.startswith("lang=")])
    assert said == ["lang=en"]


def test_a_taken_name_is_numbered_and_a_numbered_name_goes_on_counting(jobs):
    assert jobs.new_run_name("quickstart") == "quickstart"
    (jobs.outputs / "quickstart").mkdir()
    assert jobs.new_run_name("quickstart") == "quickstart-2"
    (jobs.outputs / "quickstart-2").mkdir()
    assert jobs.new_run_name("quickstart-2") == "quickstart-3"  # the page shows quickstart-2; Start again
    assert jobs.new_run_name("sd-15") == "sd-15"  # a name that only looks numbered
