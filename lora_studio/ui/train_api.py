"""Training from outside the page: the checks every start and resume from a browser or a script passes, and the
scriptable endpoints (gradio_client) start_training, training_status, stop_training, resume_training, list_runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr

from ..checkpoints import CHECKPOINT_DIR, TRAINER_STATE
from ..config import TrainConfig, load_config, load_dataclass, read_yaml, set_dotted
from ..errors import UserError
from ..launch import check_before_launch
from ..sample_data import ensure_sample_dataset
from ..studio_paths import links_in
from .common import Studio, readable_errors
from .i18n import StudioError

# ---------------------------------------------------------------- the checks (shared by the page and the API)


def prepare(studio: Studio, cfg: TrainConfig) -> TrainConfig:
    """Check what would fail in the trainer's first seconds, here, with a message naming the problem.

    Every start from the page or the API comes through here: the same validate() as the CLI, a dataset folder
    under datasets/ reached without links, no pickle, and a resume only from a checkpoint of a run in outputs/."""
    cfg.validate()
    folder = studio.paths.dataset_folder(cfg.dataset.path)
    ensure_sample_dataset(folder)  # the quickstart preset's dataset: create it rather than fail
    if cfg.allow_pickle:  # a browser must not switch on loading files that can run code on this computer
        raise StudioError("tr_no_pickle")
    links = links_in(folder) if folder.is_dir() else []
    if links:
        raise StudioError("tr_dataset_links", name=folder.name, links=", ".join(links[:3]))
    resume = studio_resume(studio, cfg.train.resume)
    cfg = replace(cfg, dataset=replace(cfg.dataset, path=str(folder)), train=replace(cfg.train, resume=resume),
                  output_dir=None)
    # the base, packages, a full step: once, before any process (the trainer checks the resume checkpoint itself)
    check_before_launch(replace(cfg, train=replace(cfg.train, resume=None)))
    return cfg


def studio_resume(studio: Studio, resume: str | None) -> str | None:
    """train.resume from a browser: 'latest', or a finished checkpoint of a run under outputs/ (a checkpoint is
    read with torch.load, so one from anywhere else could run code); returned as its full path."""
    if not resume or resume == "latest":
        return resume
    outputs, given = studio.paths.outputs, Path(resume).expanduser()
    base = studio.paths.root if given.parts[:1] == ("outputs",) else outputs  # "outputs/run/..." or "run/..."
    path = Path(os.path.abspath(base / given))  # links are not followed: they are refused below
    inside = path.is_relative_to(outputs) and len(path.relative_to(outputs).parts) == 3
    if not inside or path.parent.name != CHECKPOINT_DIR or not (path / TRAINER_STATE).is_file() \
            or any(p.is_symlink() for p in (path, path.parent, path.parent.parent)):
        raise StudioError("tr_resume_outside", resume=resume, outputs=str(outputs))
    return str(path)


def check_resumable(studio: Studio, run: str) -> None:
    """Resuming from a browser is refused for what starting from one is: a run whose config allows pickle bases
    (made with the CLI), or one whose dataset folder became a link."""
    run_dir = studio.jobs.status(run or None).run_dir
    try:
        cfg = load_config(run_dir / "config.yaml")
    except UserError:
        return  # jobs.resume names the problem with the config
    if cfg.allow_pickle:
        raise StudioError("tr_no_pickle")
    if Path(cfg.dataset.path).is_relative_to(studio.paths.datasets):
        studio.paths.dataset_folder(cfg.dataset.path)


def config_from_api(studio: Studio, settings: dict, preset: str) -> TrainConfig:
    """The preset's YAML (or the defaults) with `settings` on top; a bare dataset name means datasets/<name>."""
    presets = studio.paths.preset_files()
    if preset and preset not in presets:
        raise StudioError("preset_missing", name=preset, names=", ".join(presets))
    data = read_yaml(presets[preset]) if preset else {}
    for key, value in _flatten(settings or {}):
        set_dotted(data, key, value)
    dataset = str(data.get("dataset", {}).get("path") or "")
    if dataset and "/" not in dataset:
        data["dataset"]["path"] = str(studio.paths.dataset(dataset))
    elif dataset and not Path(dataset).is_absolute():
        data["dataset"]["path"] = str(studio.paths.root / dataset)
    return load_dataclass(TrainConfig, data)


def _flatten(settings: dict, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in settings.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


# ---------------------------------------------------------------- the endpoints


class TrainApi:
    """Scriptable endpoints (gradio_client): plain JSON in, plain JSON out. Each method's name is its api_name and
    its docstring the description the API page shows."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    @readable_errors
    def start_training(self, settings: dict, preset: str = "", lang: str = "en") -> dict:
        """Start a training run. `settings`: TrainConfig keys (nested or dotted, e.g. {"train.max_train_steps": 5})
        over the preset's values; dataset.path may be a dataset name under datasets/. A name already taken becomes
        name-2, name-3, ... Returns the run's status (its `name` is the one it got). `lang` ("en" or "ja"): the
        language of an error's message."""
        jobs = self.studio.jobs
        cfg = config_from_api(self.studio, settings, preset)
        # a taken name becomes name-2, as on the page
        cfg = prepare(self.studio, replace(cfg, name=jobs.new_run_name(cfg.name)))
        return jobs.start(cfg).to_dict()

    @readable_errors
    def training_status(self, run: str = "") -> dict:
        """The status of `run` (default: the running one, else the newest): state, step, total_steps, loss
        metrics, samples, log tail and, once finished or stopped, the adapter path."""
        return self.studio.jobs.status(run or None).to_dict()

    @readable_errors
    def stop_training(self) -> dict:
        """Ask the running training to save a checkpoint and its adapter, then end."""
        return {"message": self.studio.jobs.stop()}

    @readable_errors
    def resume_training(self, run: str, lang: str = "en") -> dict:
        """Continue a stopped run from its latest checkpoint; `lang` ("en" or "ja"): the language of an error."""
        check_resumable(self.studio, run)
        return self.studio.jobs.resume(run).to_dict()

    @readable_errors
    def list_runs(self) -> list:
        """Every run, newest first: name, state, step, total_steps and the adapter path when there is one."""
        return [r.to_dict() for r in self.studio.jobs.list_runs()]

    def register(self) -> None:
        """Add the endpoints to the Blocks being built, in the order the API page lists them."""
        for fn in (self.start_training, self.training_status, self.stop_training, self.resume_training,
                   self.list_runs):
            gr.api(fn, api_name=fn.__name__)
