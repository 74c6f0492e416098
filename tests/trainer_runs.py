"""Short tiny training runs for the fault and command-line tests: the settings, the environment of a trainer
process, and checks on what a run leaves on disk."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from lora_studio.checkpoints import list_checkpoints, read_trainer_state
from lora_studio.config import load_config

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


# status.json cannot be written: the disk is full
STATUS_UNWRITABLE_SITECUSTOMIZE = """
import errno, os
import lora_studio.runlog as runlog

def refuse(path, text):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

runlog.write_text_atomic = refuse
"""


def train_in_a_process(dataset: Path, tmp_path: Path, steps: int, sitecustomize: str = "",
                       cli_options: tuple[str, ...] = ()) -> tuple[subprocess.CompletedProcess, Path]:
    """`lora-studio [cli_options] train` on a tiny run in a fresh process, with `sitecustomize` (a fault injected
    from outside: production code has no test hooks) imported first; returns the process and the run folder."""
    from lora_studio.config import save_config

    run, config_path = tmp_path / "run", tmp_path / "config.yaml"
    save_config(config(dataset, run, f"train.max_train_steps={steps}"), config_path)
    env = subprocess_env(tmp_path)
    if sitecustomize:
        (tmp_path / "site").mkdir()
        (tmp_path / "site" / "sitecustomize.py").write_text(sitecustomize)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path / "site"), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-m", "lora_studio.cli", *cli_options, "train", str(config_path)],
                         capture_output=True, text=True, env=env, timeout=600)
    return out, run
