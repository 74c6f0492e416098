"""Adapters saved while training runs, named as kohya's sd-scripts names them, so a run can be compared epoch by
epoch afterwards (`lora-studio compare`): `<run>-000004.safetensors` after epoch 4, `<run>-step00000400.safetensors`
after step 400. The final adapter stays `<run>.safetensors`. Each is the same kohya file as the final one (same
ss_* metadata, with its own ss_epoch and ss_steps), written atomically; the oldest are pruned past
`train.keep_n_adapters`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .config import TrainConfig

EARLIER_DIR = "earlier-adapters"  # a fresh start moves the adapters of the run before it here
_SAVED = re.compile(r"^(?P<name>.+)-(?:(?P<epoch>\d{6})|step(?P<step>\d{8}))\.safetensors$")


def epoch_file(name: str, epoch: int) -> str:
    return f"{name}-{epoch:06d}.safetensors"


def step_file(name: str, step: int) -> str:
    return f"{name}-step{step:08d}.safetensors"


def due(cfg: TrainConfig, step: int, finished_epoch: int | None, done: bool) -> str | None:
    """The file to save after optimizer step `step` (None: nothing). `finished_epoch` is the 1-based epoch that
    this step completed, if it did. The last step writes only the final adapter, as kohya does."""
    if done:
        return None
    t = cfg.train
    if finished_epoch and t.save_every_n_epochs and finished_epoch % t.save_every_n_epochs == 0:
        return epoch_file(cfg.name, finished_epoch)
    if t.save_every_n_steps and step % t.save_every_n_steps == 0:
        return step_file(cfg.name, step)
    return None


@dataclass
class SavedAdapter:
    path: Path
    epoch: int
    step: int
    final: bool = False

    @property
    def label(self) -> str:
        return f"epoch {self.epoch} · step {self.step}" + (" (final)" if self.final else "")


def _facts(path: Path) -> tuple[int, int]:
    """(ss_epoch, ss_steps) from the file's metadata; 0 when missing or unreadable."""
    from .errors import UserError
    from .lora import read_lora_metadata

    try:
        meta = read_lora_metadata(path)
    except UserError:
        return 0, 0
    try:
        return int(meta.get("ss_epoch", 0)), int(meta.get("ss_steps", 0))
    except ValueError:
        return 0, 0


def intermediate(run_dir: Path, name: str) -> list[SavedAdapter]:
    """The run's per-epoch / per-step adapters, in training order (by step)."""
    found = []
    for path in Path(run_dir).glob(f"{glob_escape(name)}-*.safetensors"):
        match = _SAVED.match(path.name)
        if match and match.group("name") == name:
            epoch, step = _facts(path)
            found.append(SavedAdapter(path, epoch, step))
    return sorted(found, key=lambda a: (a.step, a.path.name))


def all_adapters(run_dir: Path, name: str) -> list[SavedAdapter]:
    """Every adapter of the run in training order, the final one last."""
    saved = intermediate(run_dir, name)
    final = Path(run_dir) / f"{name}.safetensors"
    if final.is_file():
        saved.append(SavedAdapter(final, *_facts(final), final=True))
    return saved


def is_intermediate(path: Path) -> bool:
    return bool(_SAVED.match(Path(path).name))


def prune(run_dir: Path, name: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` intermediate adapters (0 keeps all); returns what was deleted."""
    if keep <= 0:
        return []
    old = intermediate(run_dir, name)[:-keep]
    for adapter in old:
        adapter.path.unlink(missing_ok=True)
    return [a.path for a in old]


def set_aside(run_dir: Path, name: str) -> list[str]:
    """A fresh start in a folder with an earlier run's per-epoch adapters: move them to earlier-adapters/, so
    the new run's comparison never mixes in the other run's files (replacing what an even earlier start put there)."""
    found = intermediate(run_dir, name)
    if not found:
        return []
    aside = Path(run_dir) / EARLIER_DIR
    if aside.is_dir():
        for old in aside.glob("*.safetensors"):
            old.unlink()
    aside.mkdir(exist_ok=True)
    for adapter in found:
        os.replace(adapter.path, aside / adapter.path.name)
    return [a.path.name for a in found]


def glob_escape(text: str) -> str:
    """A run name used in a glob pattern matches only itself (names may hold '[' in principle)."""
    return re.sub(r"([*?\[])", r"[\1]", text)
