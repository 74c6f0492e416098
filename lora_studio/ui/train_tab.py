"""Train tab: preset + form -> config.yaml -> the trainer subprocess; live progress, loss, samples, log; stop,
resume, and the finished runs' adapters. All state is read back from the run folder (jobs.py) on a timer."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import gradio as gr

from .. import dataset_store as store
from ..checkpoints import CHECKPOINT_DIR, TRAINER_STATE
from ..config import TrainConfig, load_config, load_dataclass, read_yaml, set_dotted
from ..errors import UserError
from ..launch import check_before_launch
from ..models import TINY_SDXL
from ..sample_data import ensure_sample_dataset
from ..studio_paths import links_in, list_datasets
from .common import Plot, Step, Studio, Tab, message_of, readable_errors
from .i18n import I18N, StudioError, tr
from .run_view import LOG_LINES, SCROLL_LOG_JS, adapters_html, render, runs_table
from .train_form import (
    TrainForm,
    arithmetic,
    compose_base,
    family_note,
    field_error,
    load_preset,
    preset_choices,
)

POLL_S = 2.0
REDRAW = "redraw"  # a signature no run has: the next poll draws the page, also "no training yet"
DEFAULT_PRESET = "quickstart"


# ---------------------------------------------------------------- starting (shared by the button and the API)


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


def _flatten(settings: dict, prefix: str = ""):
    for key, value in settings.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


# ---------------------------------------------------------------- the tab


def build(studio: Studio, dataset: Tab) -> Tab:
    """The tab; the form starts from the Dataset tab's current dataset and trigger word."""
    paths, jobs, lang = studio.paths, studio.jobs, studio.lang
    presets = list(paths.preset_files())
    first = DEFAULT_PRESET if DEFAULT_PRESET in presets else None
    gr.Markdown(I18N("tr_intro"))
    preset = gr.Dropdown(preset_choices(paths), value=first, label=I18N("tr_preset"), info=I18N("tr_preset_info"),
                         elem_id="tr-preset")
    form = TrainForm(paths, load_preset(paths, first) if first else TrainConfig())  # datasets: filled on load
    with gr.Row():
        start_btn = gr.Button(I18N("tr_start"), variant="primary", elem_id="tr-start")
        stop_btn = gr.Button(I18N("tr_stop"), variant="stop", elem_id="tr-stop")
        resume_btn = gr.Button(I18N("tr_resume"), elem_id="tr-resume")
    message = gr.Markdown(elem_id="tr-message")
    with gr.Group():
        runs = gr.Dropdown([], label=I18N("tr_run"), info=I18N("tr_run_info"), allow_custom_value=True,
                           elem_id="tr-run")
        progress = gr.HTML(elem_id="tr-progress")
        state_md = gr.Markdown(elem_id="tr-state")
    with gr.Row():
        loss_plot = gr.LinePlot(x="step", y="loss", label=I18N("tr_loss"), height=260)
        samples = gr.Gallery(label=I18N("tr_samples"), columns=4, height=260, object_fit="contain", fit_columns=False,
                             elem_id="tr-samples")
    log_box = gr.Textbox(label=I18N("tr_log"), lines=10, max_lines=10, autoscroll=True, interactive=False,
                         elem_id="tr-log")
    with gr.Accordion(I18N("tr_runs"), open=True):
        table = gr.Dataframe(headers=["run", "state", "step", "adapter"], interactive=False, elem_id="tr-runs")
        adapters = gr.HTML(elem_id="tr-adapters")
    signature = gr.State(REDRAW)  # what the page shows of the watched run; REDRAW makes the next poll draw it again
    synced = gr.State("")  # the Dataset tab's dataset last copied into the form
    timer = gr.Timer(POLL_S)

    @readable_errors
    def fill_from_preset(name: str, lang: str, dataset: str, trigger: str):
        """The preset's settings; the dataset and trigger word the person already chose stay."""
        values = form.values(load_preset(paths, name))
        if dataset and _has_pictures(dataset):
            values[1], values[2] = dataset, trigger
        return [*values, gr.update(choices=list_datasets(paths))]

    def update_arithmetic(lang: str, *values):
        try:
            cfg = form.config(list(values), need_base=False)
        except UserError as e:
            return field_error(e, lang), _base_note(values[3], values[4], lang)
        return arithmetic(cfg, lang), _base_note(values[3], values[4], lang)

    def _base_note(kind: str, path: str, lang: str) -> str:
        if kind == "tiny":
            note = "models.tiny_sdxl_note" if compose_base(kind, path) == TINY_SDXL else "models.tiny_note"
            return f"ℹ️ {tr(lang, note)}"
        if kind and not (path or "").strip():
            return f"⚠️ {tr(lang, 'tr_base_missing')}"
        return " ".join(filter(None, [tr(lang, f"base_{kind}_note") if kind else "", family_note(path, lang)]))

    def _has_pictures(dataset: str) -> bool:
        folder = paths.datasets / dataset
        return folder.is_dir() and not folder.is_symlink() and bool(store.pictures_on_disk(folder))

    @readable_errors
    def dataset_trigger(dataset: str):
        folder = paths.dataset(dataset) if dataset else None
        if folder is None or not folder.is_dir():
            return gr.skip()
        return store.trigger_of(folder) or gr.skip()

    @readable_errors
    def start(lang: str, *values):
        cfg = form.config(list(values))
        name = jobs.new_run_name(cfg.name)
        cfg = prepare(studio, replace(cfg, name=name))
        status = jobs.start(cfg)
        note = tr(lang, "tr_renamed", name=name) if name != values[0] else ""
        gr.Info(tr(lang, "tr_started", name=name), title=tr(lang, "toast_info"))
        # the form shows the name the run got (quickstart-2), so the page and the run folder agree
        return gr.update(value=status.name, choices=_run_names()), f"{tr(lang, 'tr_started', name=name)} {note}", name

    @readable_errors
    def stop(lang: str):
        active = jobs.active()
        if active is None:
            raise StudioError("jobs.nothing_to_stop")
        jobs.stop()
        return tr(lang, "tr_stop_requested", name=active.name)

    @readable_errors
    def resume(run: str, lang: str):
        check_resumable(studio, run or "")
        status = jobs.resume(run or "")
        return gr.update(value=status.name, choices=_run_names()), tr(lang, "tr_resumed", name=status.name)

    def _run_names() -> list[str]:
        return [r.name for r in jobs.list_runs()]

    def poll(run: str, old_signature, lang: str):
        """Runs every POLL_S seconds: an error here must not become a toast every 2 s, so it is shown inline."""
        try:
            status = jobs.status(run or None, log_lines=LOG_LINES)
        except UserError:
            status = None
        except Exception as e:
            return (gr.skip(), f"⚠️ {message_of(e, lang)}", *(gr.skip(),) * 7)
        sig = None if status is None else (status.name, status.state, status.step, len(status.metrics),
                                           len(status.samples), status.log_tail[-200:], status.message, lang)
        if sig == old_signature:
            return (gr.skip(),) * 9
        rows, names, files = runs_table(studio, lang)
        values = render(status, lang)
        watched = gr.update(choices=names, value=status.name if status else None)
        return (*values, rows, adapters_html(files, lang), watched, sig)

    form_inputs = [lang, *form.components]
    arithmetic_outputs = [form.arithmetic, form.base_note]
    preset.input(fill_from_preset, [preset, lang, form.dataset, form.trigger], [*form.components, form.dataset],
                 api_visibility="private").then(
        update_arithmetic, form_inputs, arithmetic_outputs, api_visibility="private")
    # .input, not .change: only a person's edit recomputes, not each of the preset's 60 values landing.
    watch = [form.dataset, form.length_kind, form.length, form.base_kind, form.base_path, *form.main.values()]
    # always_last: typing "owner/model" fires on each key; the count must end on the final value, not "o".
    recompute = dict(fn=update_arithmetic, inputs=form_inputs, outputs=arithmetic_outputs, api_visibility="private",
                     show_progress="hidden", trigger_mode="always_last")
    for widget in watch:
        widget.input(**recompute)
    form.base_path.blur(**recompute)  # a pasted or autofilled path
    form.dataset.input(dataset_trigger, [form.dataset], [form.trigger], api_visibility="private")
    start_btn.click(start, form_inputs, [runs, message, form.name], api_visibility="private")
    stop_btn.click(stop, [lang], [message], api_visibility="private")
    resume_btn.click(resume, [runs, lang], [runs, message], api_visibility="private")
    poll_outputs = [progress, state_md, loss_plot, samples, log_box, table, adapters, runs, signature]
    timer.tick(poll, [runs, signature, lang], poll_outputs, api_visibility="private", show_progress="hidden")
    runs.input(poll, [runs, gr.State(None), lang], poll_outputs, api_visibility="private")
    log_box.change(None, None, None, js=SCROLL_LOG_JS, api_visibility="private")

    def on_show(lang: str, dataset: str, dataset_trigger_word: str, last_synced: str, *values):
        """On load and when the tab opens: follow the Dataset tab's dataset (once per change there, so a dataset
        picked here stays), fresh dataset choices, the arithmetic and the runs table in the page's language."""
        values = list(values)
        if dataset and dataset != last_synced and _has_pictures(dataset):
            values[1] = dataset
            values[2] = store.trigger_of(paths.datasets / dataset) or dataset_trigger_word or values[2]
            last_synced = dataset
        rows = runs_table(studio, lang)[0]
        return (gr.update(choices=list_datasets(paths), value=values[1]), values[2],
                *update_arithmetic(lang, *values), last_synced, rows, REDRAW)

    _api_endpoints(studio)
    follow = [dataset.shared["dataset"], dataset.shared["trigger"]]
    return Tab(show=Step(readable_errors(on_show), [lang, *follow, synced, *form.components],
                         [form.dataset, form.trigger, *arithmetic_outputs, synced, table, signature]),
               messages=[message], plots=[Plot(loss_plot, None, "ax_step", "ax_loss")])


def _api_endpoints(studio: Studio) -> None:
    """Scriptable endpoints (gradio_client): plain JSON in, plain JSON out."""
    jobs = studio.jobs

    @readable_errors
    def start_training(settings: dict, preset: str = "", lang: str = "en") -> dict:
        """Start a training run. `settings`: TrainConfig keys (nested or dotted, e.g. {"train.max_train_steps": 5})
        over the preset's values; dataset.path may be a dataset name under datasets/. A name already taken becomes
        name-2, name-3, ... Returns the run's status (its `name` is the one it got). `lang` ("en" or "ja"): the
        language of an error's message."""
        cfg = config_from_api(studio, settings, preset)
        cfg = prepare(studio, replace(cfg, name=jobs.new_run_name(cfg.name)))  # a taken name: name-2, as the page
        return jobs.start(cfg).to_dict()

    @readable_errors
    def training_status(run: str = "") -> dict:
        """The status of `run` (default: the running one, else the newest): state, step, total_steps, loss
        metrics, samples, log tail and, once finished or stopped, the adapter path."""
        return jobs.status(run or None).to_dict()

    @readable_errors
    def stop_training() -> dict:
        """Ask the running training to save a checkpoint and its adapter, then end."""
        return {"message": jobs.stop()}

    @readable_errors
    def resume_training(run: str, lang: str = "en") -> dict:
        """Continue a stopped run from its latest checkpoint; `lang` ("en" or "ja"): the language of an error."""
        check_resumable(studio, run)
        return jobs.resume(run).to_dict()

    @readable_errors
    def list_runs() -> list:
        """Every run, newest first: name, state, step, total_steps and the adapter path when there is one."""
        return [r.to_dict() for r in jobs.list_runs()]

    for fn in (start_training, training_status, stop_training, resume_training, list_runs):
        gr.api(fn, api_name=fn.__name__)


def suggested_tags(run_dir: Path, limit: int = 20) -> list[str]:
    """The run's trigger word and its dataset's most frequent tags, for the Generate tab."""
    try:
        data = read_yaml(run_dir / "config.yaml")
    except UserError:
        return []
    dataset = data.get("dataset", {})
    trigger = str(dataset.get("trigger_word") or "")
    folder = Path(str(dataset.get("path") or ""))
    tags = list(store.quick_tags(folder)) if folder.is_dir() else []
    return ([trigger] if trigger else []) + [t for t in tags if t != trigger][:limit]
