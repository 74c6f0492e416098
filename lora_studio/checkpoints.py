"""Resumable checkpoints (accelerate state + where the loop was), written so a crash never leaves half of one.

Each process writes into `checkpoints/.step-N.partial/`; the main process fsyncs it, writes
trainer_state.json last and renames the folder into place. A folder without trainer_state.json (or a
`.partial` one) is ignored by `resume: latest` and removed when the next run starts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from .atomic import clean_stale, write_errors, write_failure
from .errors import ConfigError, UserError

CHECKPOINT_DIR = "checkpoints"
EARLIER_RUN_DIR = "earlier-run"  # a fresh start moves the checkpoints of the run before it here
TRAINER_STATE = "trainer_state.json"
_NAME = re.compile(r"^step-(\d{6,})$")
# What the trainer writes atomically in its run folder (globs): a killed run may leave their temporaries.
RUN_FILES = ("*.safetensors", "diffusers", "status.json", "metrics.jsonl", "config.yaml")


def checkpoint_name(step: int) -> str:
    return f"step-{step:06d}"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first. A folder without trainer_state.json was never finished."""
    root = Path(run_dir) / CHECKPOINT_DIR
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if _NAME.match(p.name) and (p / TRAINER_STATE).is_file()]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))


def resolve_resume(run_dir: Path, resume: str | None) -> Path | None:
    """`resume: latest` -> newest checkpoint (None when there is none yet: a fresh start); a path -> that folder."""
    if not resume:
        return None
    if resume == "latest":
        found = list_checkpoints(run_dir)
        return found[-1] if found else None
    path = Path(resume)
    if not (path / TRAINER_STATE).is_file():
        raise ConfigError("train.resume_not_checkpoint", resume=resume, state=TRAINER_STATE,
                          folder=Path(run_dir) / CHECKPOINT_DIR)
    return path


def read_trainer_state(checkpoint: Path) -> dict:
    return json.loads((checkpoint / TRAINER_STATE).read_text(encoding="utf-8"))


def staging_dir(run_dir: Path, step: int) -> Path:
    """Where every process writes its part of a checkpoint before the main process publishes it."""
    return Path(run_dir) / CHECKPOINT_DIR / f".{checkpoint_name(step)}.partial"


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:  # makes the rename itself durable; not possible on every platform (Windows)
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish(run_dir: Path, step: int, trainer_state: dict, keep: int) -> Path:
    """Write trainer_state.json last, then rename the staging folder into place and prune old checkpoints."""
    staging = staging_dir(run_dir, step)
    for part in staging.iterdir():  # on disk before the rename, so a power cut cannot publish empty files
        if part.is_file():
            _fsync(part)
    state_tmp = staging / (TRAINER_STATE + ".tmp")
    state_tmp.write_text(json.dumps(trainer_state, indent=1), encoding="utf-8")
    _fsync(state_tmp)
    os.replace(state_tmp, staging / TRAINER_STATE)
    final = Path(run_dir) / CHECKPOINT_DIR / checkpoint_name(step)
    if final.exists():  # the same step saved again (e.g. stop right after a periodic save)
        shutil.rmtree(final)
    os.replace(staging, final)
    _fsync_dir(final.parent)
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def save_checkpoint(accelerator, run_dir: Path, step: int, trainer_state: dict, keep: int) -> None:
    """Every process writes its part into the staging folder, then the main process publishes it.

    A failed write (full disk, lost permissions) removes the staging folder and raises a UserError;
    the checkpoints already published stay as they were.
    """
    import torch

    staging = staging_dir(run_dir, step)
    try:
        accelerator.save_state(str(staging))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            publish(run_dir, step, trainer_state, keep)
    except torch.OutOfMemoryError:  # a RuntimeError too, but not a write failure: the trainer's OOM advice applies
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except write_errors() as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise UserError("train.checkpoint_write_failed", failure=write_failure(e, "io.what_checkpoint", staging)) from None
    accelerator.wait_for_everyone()


def save_only_adapter_weights(accelerator) -> None:
    """Checkpoints hold the trainable (LoRA) weights only: the frozen base is the same file every time and
    would cost gigabytes per checkpoint. Load such checkpoints with `load_state(..., strict=False)`."""

    def keep_trainable(models, weights, output_dir) -> None:
        for i, model in enumerate(models):
            trainable = {name for name, p in model.named_parameters() if p.requires_grad}
            if trainable:
                weights[i] = {k: v for k, v in weights[i].items() if k in trainable}

    accelerator.register_save_state_pre_hook(keep_trainable)


def set_aside_earlier_run(run_dir: Path) -> tuple[Path, list[str]] | None:
    """A fresh start in a folder that holds another run's checkpoints: move them to checkpoints/earlier-run/.

    Left in place, `resume: latest` would pick the other run's newer step, and pruning would delete this run's
    own checkpoints first. Moved, nothing is lost (a checkpoint is a few MB); only the run before is kept there."""
    found = list_checkpoints(run_dir)
    if not found:
        return None
    aside = Path(run_dir) / CHECKPOINT_DIR / EARLIER_RUN_DIR
    shutil.rmtree(aside, ignore_errors=True)
    aside.mkdir()
    for checkpoint in found:
        os.replace(checkpoint, aside / checkpoint.name)
    _fsync_dir(aside.parent)
    return aside, [p.name for p in found]


def check_same_lora(checkpoint: Path, lora: dict) -> None:
    """Refuse to continue a checkpoint with other lora.* settings: its weights would be read with another scale."""
    saved = read_trainer_state(checkpoint).get("lora")
    if saved is None:  # a checkpoint written before the settings were recorded; the shapes are still checked
        return
    differ = [key for key in sorted(set(saved) | set(lora)) if saved.get(key) != lora.get(key)]
    if differ:
        key = differ[0]
        raise ConfigError("train.resume_other_lora", checkpoint=checkpoint, key=key, saved=saved.get(key),
                          current=lora.get(key))


def load_checkpoint(accelerator, model, checkpoint: Path) -> dict:
    """Restore a checkpoint into the prepared model/optimizer/scheduler; returns its trainer_state.

    Checkpoints hold only the trainable weights, so the base is loaded non-strictly; every trainable weight
    must be there, or the run was made with other lora.* settings."""
    from safetensors import safe_open

    weights = Path(checkpoint) / "model.safetensors"
    if weights.is_file():
        with safe_open(str(weights), framework="pt") as f:
            saved = {k: list(f.get_slice(k).get_shape()) for k in f.keys()}
        differ = [n for n, p in model.named_parameters() if p.requires_grad and saved.get(n) != list(p.shape)]
        if differ:
            raise ConfigError("train.resume_other_shapes", checkpoint=checkpoint, count=len(differ), example=differ[0])
    accelerator.load_state(str(checkpoint), strict=False)
    return read_trainer_state(checkpoint)


def clean_partials(run_dir: Path) -> None:
    """At the start of a run: drop unfinished checkpoints and the temporaries of writes a crash cut short."""
    root = Path(run_dir) / CHECKPOINT_DIR
    if root.is_dir():
        for p in root.glob(".step-*.partial"):
            shutil.rmtree(p, ignore_errors=True)
    clean_stale(run_dir, RUN_FILES)
    clean_stale(Path(run_dir) / "samples", ("*.png",))
