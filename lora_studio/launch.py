"""Start training the way users run it: `accelerate launch -m lora_studio.train CONFIG [key=value ...]`."""

from __future__ import annotations

import codecs
import os
import shlex
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from .config import TrainConfig, load_config
from .console import console_language
from .data import ScanResult
from .errors import ConfigError
from .text import LANGS, render


def _has_accelerate_config() -> bool:
    try:
        from accelerate.commands.config import default_config_file
    except ImportError:
        return False
    return Path(default_config_file).is_file()


def accelerate_command(config_path: str | Path, overrides: list[str], launcher_args: str = "") -> list[str]:
    """The exact command line; without an `accelerate config` file it asks for one local process."""
    extra = shlex.split(launcher_args)
    if not extra and not _has_accelerate_config():
        extra = ["--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    if "--quiet" not in extra and "-q" not in extra:
        extra.append("--quiet")  # a failed run ends with our one-line error, not the launcher's traceback
    return [sys.executable, "-m", "accelerate.commands.launch", *extra, "-m", "lora_studio.train",
            str(config_path), *overrides]


def require_optional_packages(cfg: TrainConfig) -> None:
    """The settings that need a package lora-studio does not install by default."""
    import importlib.util

    if cfg.train.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError("train.needs_tensorboard")
    if cfg.train.optimizer == "adamw8bit" and importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError("train.needs_bitsandbytes")


def preflight(cfg: TrainConfig) -> None:
    """The checks that need no model, run before a training process starts so that mistakes come back at once:
    the base, the checkpoint to resume and its lora settings, optional packages. (The dataset is scanned too.)"""
    from . import checkpoints as ckpt
    from .models import check_base

    check_base(cfg.base, allow_pickle=cfg.allow_pickle)
    resume_from = ckpt.resolve_resume(cfg.run_dir.resolve(), cfg.train.resume)
    if resume_from is not None:
        ckpt.check_same_lora(resume_from, asdict(cfg.lora))
    require_optional_packages(cfg)


# Set for a trainer started by `lora-studio train` or the studio: they ran the checks, the trainer need not again.
CHECKED_ENV = "LORA_STUDIO_CHECKED_BEFORE_LAUNCH"


def check_before_launch(cfg: TrainConfig) -> ScanResult:
    """The checks that need no model, run once per launch by whoever launches (the CLI or the studio), so that
    mistakes come back at once: the base, the checkpoint to resume and its lora settings, optional packages, the
    dataset (drawn first when it is the missing sample) and whether it gives one full step."""
    from .data import scan_dataset
    from .sample_data import ensure_sample_dataset
    from .steps import plan_steps

    preflight(cfg)
    if ensure_sample_dataset(cfg.dataset.path):
        print(render("console.sample_drawn", console_language(), folder=cfg.dataset.path), file=sys.stderr)
    scan = scan_dataset(cfg.dataset)
    plan_steps(cfg, scan.items, world_size=1)
    return scan


def trainer_env() -> dict[str, str]:
    """The environment for a trainer process this launcher checked: unbuffered output, checks not repeated."""
    return dict(os.environ, PYTHONUNBUFFERED="1", **{CHECKED_ENV: "1"})


def run_training(config_path: str | Path, overrides: list[str], launcher_args: str = "") -> int:
    """Validate the config, base and dataset here (clean errors before any process starts), then run accelerate.

    A run that stops with a message (NaN loss, out of memory, a full disk) exits 2 like a bad config; accelerate
    itself only says 1, so the run's status.json tells, or, when the trainer could not even write that (the
    disk is full), its one-line "error: ..." message on stderr."""
    from .runlog import read_status

    cfg = load_config(config_path, overrides)
    check_before_launch(cfg)
    proc = subprocess.Popen(accelerate_command(config_path, overrides, launcher_args), env=trainer_env(),
                            stderr=subprocess.PIPE)
    try:
        said_error = _relay_stderr(proc)
    finally:  # Ctrl+C reaches the trainer too: wait while it saves its checkpoint and ends
        code = proc.wait()
    if code != 0 and (said_error or (read_status(cfg.run_dir) or {}).get("state") == "failed"):
        return 2
    return code


# How the trainer's main() ends a run that stopped with a message, in either language (console.error).
_ERROR_LINES = tuple(("\n" + render("console.error", lang, message="")).encode() for lang in LANGS)


def _relay_stderr(proc: subprocess.Popen) -> bool:
    """Copy the trainer's stderr to ours as it comes (progress bars too); True when it printed its message line."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    said, tail = False, b"\n"
    while chunk := os.read(proc.stderr.fileno(), 1 << 16):
        sys.stderr.write(decoder.decode(chunk))
        sys.stderr.flush()
        said = said or any(line in tail + chunk for line in _ERROR_LINES)
        tail = (tail + chunk)[-max(map(len, _ERROR_LINES)):]
    proc.stderr.close()
    return said
