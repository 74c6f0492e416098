"""Resumable checkpoints (accelerate state + where the loop was), written so a crash never leaves half of one."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from .errors import ConfigError

CHECKPOINT_DIR = "checkpoints"
TRAINER_STATE = "trainer_state.json"
_NAME = re.compile(r"^step-(\d{6,})$")


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
        raise ConfigError(f"train.resume: '{resume}' is not a finished checkpoint folder (no {TRAINER_STATE}); "
                          f"use 'latest' or a folder under {Path(run_dir) / CHECKPOINT_DIR}")
    return path


def read_trainer_state(checkpoint: Path) -> dict:
    return json.loads((checkpoint / TRAINER_STATE).read_text(encoding="utf-8"))


def staging_dir(run_dir: Path, step: int) -> Path:
    """Where every process writes its part of a checkpoint before the main process publishes it."""
    return Path(run_dir) / CHECKPOINT_DIR / f".{checkpoint_name(step)}.partial"


def publish(run_dir: Path, step: int, trainer_state: dict, keep: int) -> Path:
    """Write trainer_state.json last, then rename the staging folder into place and prune old checkpoints."""
    staging = staging_dir(run_dir, step)
    state_tmp = staging / (TRAINER_STATE + ".tmp")
    state_tmp.write_text(json.dumps(trainer_state, indent=1), encoding="utf-8")
    with open(state_tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(state_tmp, staging / TRAINER_STATE)
    final = Path(run_dir) / CHECKPOINT_DIR / checkpoint_name(step)
    if final.exists():  # the same step saved again (e.g. stop right after a periodic save)
        shutil.rmtree(final)
    os.replace(staging, final)
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def clean_partials(run_dir: Path) -> None:
    root = Path(run_dir) / CHECKPOINT_DIR
    if root.is_dir():
        for p in root.glob(".step-*.partial"):
            shutil.rmtree(p, ignore_errors=True)
