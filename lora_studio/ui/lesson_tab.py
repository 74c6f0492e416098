"""Lesson tab: the MobileNetV2 transfer-learning lesson step by step, with its explanations (lesson.texts, the
same source as the CLI), parameter summaries, live learning curves, the prediction grid and "classify my photo"."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from ..config import apply_overrides, load_dataclass, read_yaml
from ..lesson import LessonConfig, explain, explain_stage, load_lesson_model, predict, run_lesson
from ..lesson.config import CATS_DOGS_FOLDER
from ..lesson.model import TINY_CLASSIFIER
from ..studio_paths import StudioPaths
from .common import Plot, Studio, Tab, readable_errors
from .i18n import I18N, StudioError, tr

DEFAULT_PRESET = "lesson-quick"
_running: dict[str, threading.Event] = {}  # the one lesson running in this studio: its stop switch


def lesson_running() -> bool:
    return bool(_running)


def _locked(config: LessonConfig) -> dict[str, object]:
    """What a browser must not choose: where files go and what is downloaded, from where, into where.

    Compared after the overrides are applied, so no syntax gets around it (dotted keys, `data={...}`, YAML
    anchors and aliases all end up as these values)."""
    return {"output_dir": config.output_dir, "data.url": config.data.url,
            "data.expected_size": config.data.expected_size, "data.path": config.data.path}


def lesson_config(paths: StudioPaths, preset: str, overrides: str, lang: str) -> LessonConfig:
    """The preset with `key=value` lines on top; results always go to outputs/lessons/<name>."""
    presets = paths.preset_files(lesson=True)
    if preset not in presets:
        raise StudioError("ls_preset_missing", name=preset, names=", ".join(presets))
    lines = [line.strip() for line in (overrides or "").splitlines() if line.strip() and not line.startswith("#")]
    preset_config = load_dataclass(LessonConfig, read_yaml(presets[preset]))
    config = load_dataclass(LessonConfig, apply_overrides(read_yaml(presets[preset]), lines))
    preset_values = _locked(preset_config)
    for key, value in _locked(config).items():
        # data.path may change only to read a folder of photos: cats_and_dogs downloads into it, generated draws
        reading = key == "data.path" and config.data.source == "folder"
        if value != preset_values[key] and not reading:
            raise StudioError("ls_locked", line=", ".join(lines), key=key)
    config.language = lang if lang in ("en", "ja") else "en"
    config.output_dir = str(paths.lessons / paths.run(config.name).name)
    if config.data.source == "cats_and_dogs":  # the download's place is the studio's datasets/, never the cwd's
        config.data.path = str(paths.root / (config.data.path or CATS_DOGS_FOLDER))
    elif config.data.source == "generated":  # drawn into the lesson's own run folder, nowhere else
        config.data.path = None
    if config.data.path:
        folder = Path(config.data.path).expanduser()
        folder = folder if folder.is_absolute() else paths.root / folder
        config.data.path = str(paths.dataset_folder(folder, key="data.path"))
    config.validate()
    return config


class LessonView:
    """Folds run_lesson's events into what the tab shows."""

    def __init__(self, config: LessonConfig, lang: str) -> None:
        self.config, self.lang = config, lang
        self.sections: list[str] = []
        self.summaries: list[str] = []
        self.history: list[dict] = []
        self.progress = ""
        self.result = ""
        self.images: list[str] = []

    def apply(self, event: dict[str, Any]) -> None:
        kind, lang = event["type"], self.lang
        if kind == "stage":
            stage, facts = event["stage"], event.get("facts")
            # place="studio": the texts point to "Classify my photo" below instead of the terminal command.
            texts = explain_stage(stage, lang, facts=facts, place="studio")
            if stage == "model" and self.config.base == TINY_CLASSIFIER:
                texts.append(f"ℹ️ {explain('tiny', lang, facts=facts)}")
            self.sections.append(f"### {tr(lang, 'lesson.stage_' + stage)}\n\n" + "\n\n".join(texts))
            self.progress = tr(lang, "lesson.stage_" + stage)
        elif kind in ("download", "load"):
            what = tr(lang, "ls_download") if kind == "download" else tr(lang, "ls_reading", split=event["split"])
            total = event.get("total") or 0
            self.progress = f"{what}: {event['done']}/{total or '?'}"
        elif kind == "data":
            self.sections.append(tr(lang, "ls_data", classes=", ".join(event["classes"]), train=event["train"],
                                    validation=event["validation"], test=event["test"]))
        elif kind == "summary":
            self.summaries.append(f"```\n{event['text']}\n```")  # in the page's language: config.language is set
        elif kind == "initial":
            self.sections.append(tr(lang, "ls_initial", accuracy=f"{event['val_accuracy']:.1%}"))
        elif kind == "batch":
            self.progress = tr(lang, "ls_batch", phase=event["phase"], epoch=event["epoch"], step=event["step"],
                               steps=event["steps"], loss=f"{event['loss']:.4f}", accuracy=f"{event['accuracy']:.1%}")
        elif kind == "epoch":
            self.history.append(event)
        elif kind == "test":
            self.result = tr(lang, "ls_test", accuracy=f"{event['test_accuracy']:.1%}")
        elif kind == "done":
            run_dir = event["result"].run_dir
            self.images = [str(run_dir / "curves.png"), str(run_dir / "predictions.png")]
            self.progress = tr(lang, "ls_done", seconds=f"{event['result'].seconds:.0f}")

    def curves(self, metric: str) -> pd.DataFrame | None:
        rows = [(r["epoch"], r[f"{prefix}_{metric}"], tr(self.lang, f"ls_{prefix}"))
                for r in self.history for prefix in ("train", "val")]
        return pd.DataFrame(rows, columns=["epoch", metric, "series"]) if rows else None

    def outputs(self) -> tuple:
        return (self.progress, "\n\n".join(self.sections), "\n\n".join(self.summaries), self.curves("accuracy"),
                self.curves("loss"), self.images or None, self.result, str(self.config.run_dir))


_model_cache: dict[str, Any] = {}  # the lesson model classify used last, one per studio process


def _model_for(run_dir: Path):
    key = f"{run_dir}:{(run_dir / 'model.safetensors').stat().st_mtime_ns}"
    if key not in _model_cache:
        _model_cache.clear()
        _model_cache[key] = load_lesson_model(run_dir)
    return _model_cache[key]


@dataclass
class LessonWidgets:
    """The Lesson tab's components."""

    preset: gr.Dropdown
    overrides: gr.Textbox
    run: gr.Button
    stop: gr.Button  # shown while a lesson runs
    progress: gr.Markdown
    explanations: gr.Markdown
    summaries: gr.Markdown
    accuracy_plot: gr.LinePlot
    loss_plot: gr.LinePlot
    result: gr.Markdown
    figures: gr.Gallery
    run_dir: gr.Textbox  # hidden: the folder of the lesson run last, which "classify my photo" uses
    photo: gr.Image
    classify: gr.Button
    answer: gr.Label


def _curve(metric: str) -> gr.LinePlot:
    # gradio sizes the chart to `height` without counting the block label, which pushes the legend
    # (training / validation) out of the box: the chart's own title names the plot instead.
    return gr.LinePlot(x="epoch", y=metric, color="series", title=tr("en", f"ls_{metric}"), color_title="",
                       show_label=False, height=280, elem_id=f"ls-{metric}", visible=False)


def _layout(presets: list[str]) -> LessonWidgets:
    gr.Markdown(I18N("ls_intro"))
    with gr.Row():
        preset = gr.Dropdown(presets, value=DEFAULT_PRESET if DEFAULT_PRESET in presets else None,
                             label=I18N("ls_preset"), info=I18N("ls_preset_info"), elem_id="ls-preset")
        overrides = gr.Textbox(label=I18N("ls_overrides"), info=I18N("ls_overrides_info"), lines=2,
                               placeholder="transfer.epochs=1\nfinetune.epochs=2", elem_id="ls-overrides")
    with gr.Row():
        run_btn = gr.Button(I18N("ls_run"), variant="primary", elem_id="ls-run")
        stop_btn = gr.Button(I18N("ls_stop"), variant="stop", visible=False, elem_id="ls-stop")
    progress = gr.Markdown(elem_id="ls-progress")
    with gr.Row():
        with gr.Column(scale=3):
            explanations = gr.Markdown(elem_id="ls-explanations")
        with gr.Column(scale=2):
            summaries = gr.Markdown(elem_id="ls-summaries")
            accuracy_plot, loss_plot = _curve("accuracy"), _curve("loss")
    result = gr.Markdown(elem_id="ls-result")
    figures = gr.Gallery(label=I18N("ls_figures"), columns=2, height=620, object_fit="contain",
                         elem_id="ls-figures", visible=False)
    run_dir = gr.Textbox(visible=False)
    gr.Markdown(I18N("ls_classify_intro"))
    with gr.Row():
        photo = gr.Image(type="filepath", label=I18N("ls_photo"), sources=["upload", "clipboard"], height=260,
                         elem_id="ls-photo")
        with gr.Column():
            classify_btn = gr.Button(I18N("ls_classify"), variant="primary", elem_id="ls-classify")
            answer = gr.Label(label=I18N("ls_answer"), elem_id="ls-answer")
    return LessonWidgets(preset=preset, overrides=overrides, run=run_btn, stop=stop_btn, progress=progress,
                         explanations=explanations, summaries=summaries, accuracy_plot=accuracy_plot,
                         loss_plot=loss_plot, result=result, figures=figures, run_dir=run_dir, photo=photo,
                         classify=classify_btn, answer=answer)


class LessonActions:
    """What the server does for the Lesson tab: run the lesson (one per studio), stop it, classify a photo."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    @readable_errors
    def run(self, preset: str, overrides: str, lang: str = "en"):
        """Run the lesson (a preset such as lesson-quick plus `key=value` lines) and stream what it shows."""
        config = lesson_config(self.studio.paths, preset, overrides, lang)
        if _running:
            raise StudioError("ls_busy")
        events: queue.Queue = queue.Queue()
        stop = _running.setdefault("stop", threading.Event())
        failure: list[BaseException] = []

        def work() -> None:
            try:
                run_lesson(config, on_event=events.put, stop=stop)
            except BaseException as e:  # handed to the page below
                failure.append(e)
            finally:
                events.put(None)

        view = LessonView(config, lang)
        threading.Thread(target=work, daemon=True, name="lesson").start()
        try:
            last = 0.0
            while (event := events.get()) is not None:
                view.apply(event)
                # progress lines come many per second: the page gets at most two of them a second
                if event["type"] not in ("batch", "load", "download") or time.monotonic() - last > 0.5:
                    last = time.monotonic()
                    yield view.outputs()
        finally:
            _running.clear()
        if failure:
            raise failure[0]
        yield view.outputs()

    @readable_errors
    def stop(self, lang: str):
        if not _running:
            raise StudioError("ls_not_running")
        _running["stop"].set()
        return tr(lang, "ls_stopping")

    @readable_errors
    def classify(self, photo_path: str | None, run: str, lang: str = "en") -> dict:
        """Classify one photo with the lesson model trained last (or the newest one in outputs/lessons)."""
        if not photo_path:
            raise StudioError("ls_no_photo")
        lessons = self.studio.paths.lessons
        folder = Path(run).resolve() if run else None
        if folder is not None and not folder.is_relative_to(lessons):
            raise StudioError("ls_not_run", run=run, lessons=str(lessons))
        if folder is None or not (folder / "model.safetensors").is_file():
            trained = sorted(lessons.glob("*/model.safetensors"), key=lambda p: p.stat().st_mtime)
            if not trained:
                raise StudioError("ls_no_model")
            folder = trained[-1].parent
        model = _model_for(folder.resolve())
        ((label, probability),) = predict(model, [photo_path])
        if len(model.classes) == 2:
            other = next(c for c in model.classes if c != label)
            return {label: probability, other: 1.0 - probability}
        return {label: probability}


def _wire(w: LessonWidgets, actions: LessonActions, lang: gr.State) -> None:
    outputs = [w.progress, w.explanations, w.summaries, w.accuracy_plot, w.loss_plot, w.figures, w.result, w.run_dir]
    # Before a run the tab shows no empty charts, gallery or Stop: the charts and Stop appear first, then the lesson
    # runs (chained: the run's end always lands after them, on a busy machine too, and the API's /run_lesson
    # returns plain values); the figures show once it has drawn them. Stop goes when no lesson runs any more
    # (`.then` also follows a failed run: a second click's refused run keeps the running lesson's Stop).
    live = [w.stop, w.accuracy_plot, w.loss_plot]
    running = w.run.click(lambda: [gr.update(visible=True)] * len(live), None, live, api_visibility="private",
                          queue=False).then(actions.run, [w.preset, w.overrides, lang], outputs,
                                            api_name="run_lesson", concurrency_limit=1)
    running.then(lambda pictures: (gr.update(visible=lesson_running()), gr.update(visible=bool(pictures))),
                 [w.figures], [w.stop, w.figures], api_visibility="private")
    w.stop.click(actions.stop, [lang], [w.progress], api_visibility="private")
    w.classify.click(actions.classify, [w.photo, w.run_dir, lang], [w.answer], api_name="classify_photo")


def build(studio: Studio) -> Tab:
    w = _layout(list(studio.paths.preset_files(lesson=True)))
    actions = LessonActions(studio)
    _wire(w, actions, studio.lang)
    return Tab(plots=[Plot(w.accuracy_plot, "ls_accuracy", "ax_epoch", "ax_accuracy"),
                      Plot(w.loss_plot, "ls_loss", "ax_epoch", "ax_loss")])
