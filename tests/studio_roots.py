"""Studios for the tests that attack them through their real HTTP API: a root whose datasets/ holds a tagged
dataset and beside which lies a private folder that must never come back, the studio exactly as
`lora-studio app` runs it, and a way to end whatever training a test started."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

from PIL import Image

from lora_studio.jobs import LOCK_FILE, Jobs
from lora_studio.ui.app import launch_app

SECRET = "private-tag-xyz"  # in files outside datasets/ and outputs/: must never come back from the studio
DATASET = "ann-private-set"  # a name that appears nowhere else


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_root(root: Path) -> Path:
    """datasets/mychar (4 tagged pictures) and, beside datasets/ and outputs/, a private folder."""
    from lora_studio.sample_data import make_sample_dataset

    make_sample_dataset(root / "datasets" / DATASET, count=4, size=96)
    private = root / "private"
    (private / "10_more").mkdir(parents=True)
    Image.new("RGB", (96, 96), (250, 0, 0)).save(private / "secret.png")
    Image.new("RGB", (96, 96), (0, 250, 0)).save(private / "10_more" / "also-secret.png")
    (private / "secret.txt").write_text(f"{SECRET}, secret\n")
    return root


def start(root: Path, **kwargs):
    """The studio exactly as `lora-studio app` runs it (queue, allowed paths, no error details)."""
    return launch_app(host="127.0.0.1", port=free_port(), root=root, block=False, **kwargs)


def end_training(root: Path) -> None:
    """Kill whatever training the studio started (its own process group) and wait for the lock to clear."""
    jobs = Jobs(root / "outputs")
    lock_path = root / "outputs" / LOCK_FILE
    deadline = time.monotonic() + 60
    while lock_path.exists() and time.monotonic() < deadline:
        pid = int(json.loads(lock_path.read_text() or "{}").get("pid") or 0)
        if pid > 0:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if jobs.read_lock() is None:
            return
        time.sleep(0.2)
    assert jobs.read_lock() is None, "a training is still running"


def files_outside(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if not p.is_relative_to(root / "datasets")
            and not p.is_relative_to(root / "outputs")}
