"""Train tab: preset + form -> config.yaml -> the trainer subprocess; live progress, loss, samples, log; stop,
resume, and the finished runs' adapters. All state is read back from the run folder (jobs.py) on a timer.

The checks before a start or resume and the scriptable endpoints live in train_api.py; the form in train_form.py;
how a run is drawn in run_view.py."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import gradio as gr

from .. import dataset_store as store
from ..config import TrainConfig, read_yaml
from ..errors import UserError
from ..jobs import RunStatus
from ..models import TINY_SDXL
from ..studio_paths import StudioPaths, list_datasets
from .common import Plot, Step, Studio, Tab, message_of, readable_errors
from .i18n import I18N, StudioError, tr
from .run_view import LOG_LINES, SCROLL_LOG_JS, adapters_html, render, runs_table
from .train_api import TrainApi, check_resumable, prepare
from .train_form import (
    BASE_KIND,
    BASE_PATH,
    DATASET,
    NAME,
    TRIGGER,
    FormValues,
    TrainForm,
    arithmetic,
    compose_base,
    family_note,
    field_error,
    load_preset,
    preset_choices,
)

POLL_S = 2.0
RECOUNT_LINE = "tr-arithmetic"  # the events that write the step count, run one at a time in the order they came
REDRAW = "redraw"  # a signature no run has: the next poll draws the page, also "no training yet"
DEFAULT_PRESET = "quickstart"


@dataclass
class TrainWidgets:
    """The tab's components, top to bottom; the settings are a TrainForm."""

    preset: gr.Dropdown
    form: TrainForm
    start: gr.Button
    stop: gr.Button
    resume: gr.Button
    message: gr.Markdown
    runs: gr.Dropdown  # the run the page watches
    progress: gr.HTML
    state: gr.Markdown
    loss_plot: gr.LinePlot
    samples: gr.Gallery
    log: gr.Textbox
    table: gr.Dataframe
    adapters: gr.HTML
    signature: gr.State  # what the page shows of the watched run; REDRAW makes the next poll draw it again
    synced: gr.State  # the Dataset tab's dataset last copied into the form
    timer: gr.Timer
    unsigned: gr.State  # None: a run picked by hand is drawn, whatever the page showed before


def _layout(paths: StudioPaths) -> TrainWidgets:
    presets = list(paths.preset_files())
    first = DEFAULT_PRESET if DEFAULT_PRESET in presets else None
    gr.Markdown(I18N("tr_intro"))
    preset = gr.Dropdown(preset_choices(paths), value=first, label=I18N("tr_preset"), info=I18N("tr_preset_info"),
                         elem_id="tr-preset")
    form = TrainForm(paths, load_preset(paths, first) if first else TrainConfig())  # datasets: filled when the tab opens
    with gr.Row():
        start = gr.Button(I18N("tr_start"), variant="primary", elem_id="tr-start")
        stop = gr.Button(I18N("tr_stop"), variant="stop", elem_id="tr-stop")
        resume = gr.Button(I18N("tr_resume"), elem_id="tr-resume")
    message = gr.Markdown(elem_id="tr-message")
    with gr.Group():
        runs = gr.Dropdown([], label=I18N("tr_run"), info=I18N("tr_run_info"), allow_custom_value=True,
                           elem_id="tr-run")
        progress = gr.HTML(elem_id="tr-progress")
        state = gr.Markdown(elem_id="tr-state")
    with gr.Row():
        loss_plot = gr.LinePlot(x="step", y="loss", label=I18N("tr_loss"), height=260)
        samples = gr.Gallery(label=I18N("tr_samples"), columns=4, height=260, object_fit="contain", fit_columns=False,
                             elem_id="tr-samples")
    log = gr.Textbox(label=I18N("tr_log"), lines=10, max_lines=10, autoscroll=True, interactive=False,
                     elem_id="tr-log")
    with gr.Accordion(I18N("tr_runs"), open=True):
        table = gr.Dataframe(headers=["run", "state", "step", "adapter"], interactive=False, elem_id="tr-runs")
        adapters = gr.HTML(elem_id="tr-adapters")
    return TrainWidgets(preset=preset, form=form, start=start, stop=stop, resume=resume, message=message, runs=runs,
                        progress=progress, state=state, loss_plot=loss_plot, samples=samples, log=log, table=table,
                        adapters=adapters, signature=gr.State(REDRAW), synced=gr.State(""), timer=gr.Timer(POLL_S),
                        unsigned=gr.State(None))


class TrainActions:
    """What the server does for the tab: presets and the step arithmetic for the form, start, stop and resume,
    and the watched run drawn from its folder."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.form = FormValues(studio.paths)  # the form's values <-> TrainConfig; its components live in _layout

    @readable_errors
    def fill_from_preset(self, name: str, lang: str, dataset: str, trigger: str) -> list:
        """The preset's settings; the dataset and trigger word the person already chose stay."""
        values = self.form.values(load_preset(self.studio.paths, name))
        if dataset and self._has_pictures(dataset):
            values[DATASET], values[TRIGGER] = dataset, trigger
        return [*values, gr.update(choices=list_datasets(self.studio.paths))]

    def update_arithmetic(self, lang: str, *values) -> tuple[str, str]:
        """The steps the settings make (or the bad setting, named) and what the chosen base is."""
        try:
            steps = arithmetic(self.form.config(list(values), need_base=False), lang)
        except UserError as e:
            steps = field_error(e, lang)
        return steps, self.base_note(values[BASE_KIND], values[BASE_PATH], lang)

    def base_note(self, kind: str, path: str, lang: str) -> str:
        if kind == "tiny":
            note = "models.tiny_sdxl_note" if compose_base(kind, path) == TINY_SDXL else "models.tiny_note"
            return f"ℹ️ {tr(lang, note)}"
        if kind and not (path or "").strip():
            return f"⚠️ {tr(lang, 'tr_base_missing')}"
        return " ".join(filter(None, [tr(lang, f"base_{kind}_note") if kind else "", family_note(path, lang)]))

    @readable_errors
    def dataset_trigger(self, dataset: str):
        """The trigger word the picked dataset was uploaded with; the typed one stays when it has none."""
        folder = self.studio.paths.dataset(dataset) if dataset else None
        if folder is None or not folder.is_dir():
            return gr.skip()
        return store.trigger_of(folder) or gr.skip()

    @readable_errors
    def start(self, lang: str, *values):
        jobs = self.studio.jobs
        cfg = self.form.config(list(values))
        name = jobs.new_run_name(cfg.name)
        status = jobs.start(prepare(self.studio, replace(cfg, name=name)))
        started = tr(lang, "tr_started", name=name)
        note = tr(lang, "tr_renamed", name=name) if name != values[NAME] else ""
        gr.Info(started, title=tr(lang, "toast_info"))
        # the form shows the name the run got (quickstart-2), so the page and the run folder agree
        return gr.update(value=status.name, choices=self._run_names()), f"{started} {note}", name

    @readable_errors
    def stop(self, lang: str) -> str:
        active = self.studio.jobs.active()
        if active is None:
            raise StudioError("jobs.nothing_to_stop")
        self.studio.jobs.stop()
        return tr(lang, "tr_stop_requested", name=active.name)

    @readable_errors
    def resume(self, run: str, lang: str):
        check_resumable(self.studio, run or "")
        status = self.studio.jobs.resume(run or "")
        return gr.update(value=status.name, choices=self._run_names()), tr(lang, "tr_resumed", name=status.name)

    def poll(self, run: str, old_signature, lang: str) -> tuple:
        """Runs every POLL_S seconds: an error here must not become a toast every 2 s, so it is shown inline.
        Draws only when the run changed since `old_signature` (or the language did)."""
        try:
            status = self.studio.jobs.status(run or None, log_lines=LOG_LINES)
        except UserError:
            status = None
        except Exception as e:
            return (gr.skip(), f"⚠️ {message_of(e, lang)}", *(gr.skip(),) * 7)
        signature = _signature(status, lang)
        if signature == old_signature:
            return (gr.skip(),) * 9
        rows, names, files = runs_table(self.studio, lang)
        watched = gr.update(choices=names, value=status.name if status else None)
        return (*render(status, lang), rows, adapters_html(files, lang), watched, signature)

    @readable_errors
    def on_show(self, lang: str, dataset: str, dataset_trigger_word: str, last_synced: str, *values) -> tuple:
        """When the tab opens or the language changes: follow the Dataset tab's dataset (once per change there, so a dataset
        picked here stays), fresh dataset choices, the arithmetic and the runs table in the page's language."""
        values = list(values)
        if dataset and dataset != last_synced and self._has_pictures(dataset):
            values[DATASET] = dataset
            values[TRIGGER] = (store.trigger_of(self.studio.paths.datasets / dataset) or dataset_trigger_word
                               or values[TRIGGER])
            last_synced = dataset
        rows = runs_table(self.studio, lang)[0]
        return (gr.update(choices=list_datasets(self.studio.paths), value=values[DATASET]), values[TRIGGER],
                *self.update_arithmetic(lang, *values), last_synced, rows, REDRAW)

    def _has_pictures(self, dataset: str) -> bool:
        folder = self.studio.paths.datasets / dataset
        return folder.is_dir() and not folder.is_symlink() and bool(store.pictures_on_disk(folder))

    def _run_names(self) -> list[str]:
        return [r.name for r in self.studio.jobs.list_runs()]


def _signature(status: RunStatus | None, lang: str) -> tuple | None:
    """What the page shows of a run: when none of it changed, a poll draws nothing."""
    if status is None:
        return None
    return (status.name, status.state, status.step, len(status.metrics), len(status.samples),
            status.log_tail[-200:], status.message, lang)


def _wire(w: TrainWidgets, actions: TrainActions, lang: gr.State) -> None:
    form, private = w.form, dict(api_visibility="private")
    form_inputs = [lang, *form.components]
    arithmetic_outputs = [form.arithmetic, form.base_note]
    # Every recount runs in one line, in the order the edits came: each reads the form as it was when triggered,
    # so two recounts side by side (leaving the base path for the learning rate: a blur, then an input) could
    # finish out of order and leave the older count on the page.
    in_order = dict(concurrency_id=RECOUNT_LINE, concurrency_limit=1)
    w.preset.input(actions.fill_from_preset, [w.preset, lang, form.dataset, form.trigger],
                   [*form.components, form.dataset], **private).then(
        actions.update_arithmetic, form_inputs, arithmetic_outputs, **in_order, **private)
    # .input, not .change: only a person's edit recomputes, not each of the preset's 60 values landing.
    watch = [form.dataset, form.length_kind, form.length, form.base_kind, form.base_path, *form.main.values()]
    # always_last: typing "owner/model" fires on each key; the count must end on the final value, not "o".
    recompute = dict(fn=actions.update_arithmetic, inputs=form_inputs, outputs=arithmetic_outputs,
                     show_progress="hidden", trigger_mode="always_last", **in_order, **private)
    for widget in watch:
        widget.input(**recompute)
    # Leaving a box recounts once more, from the value it settled on: a pasted or autofilled path, and a number
    # whose input event, on a busy machine, could be read before its new value.
    for widget in [form.base_path, form.length, *form.main.values()]:
        widget.blur(**recompute)
    form.dataset.input(actions.dataset_trigger, [form.dataset], [form.trigger], **private)
    w.start.click(actions.start, form_inputs, [w.runs, w.message, form.name], **private)
    w.stop.click(actions.stop, [lang], [w.message], **private)
    w.resume.click(actions.resume, [w.runs, lang], [w.runs, w.message], **private)
    poll_outputs = [w.progress, w.state, w.loss_plot, w.samples, w.log, w.table, w.adapters, w.runs, w.signature]
    w.timer.tick(actions.poll, [w.runs, w.signature, lang], poll_outputs, show_progress="hidden", **private)
    w.runs.input(actions.poll, [w.runs, w.unsigned, lang], poll_outputs, **private)
    w.log.change(None, None, None, js=SCROLL_LOG_JS, **private)


def _show_step(w: TrainWidgets, actions: TrainActions, lang: gr.State, dataset: Tab) -> Step:
    """What app.py runs when the tab opens and after a language switch: the Dataset tab's dataset and
    trigger word come in, the arithmetic, the runs table and (through REDRAW) the watched run are drawn again."""
    follow = [dataset.shared["dataset"], dataset.shared["trigger"]]
    return Step(actions.on_show, [lang, *follow, w.synced, *w.form.components],
                [w.form.dataset, w.form.trigger, w.form.arithmetic, w.form.base_note, w.synced, w.table, w.signature],
                in_line=RECOUNT_LINE)  # it counts too: a show still running must not land after a newer edit's count


def build(studio: Studio, dataset: Tab) -> Tab:
    """The tab; the form starts from the Dataset tab's current dataset and trigger word."""
    w = _layout(studio.paths)
    actions = TrainActions(studio)
    _wire(w, actions, studio.lang)
    TrainApi(studio).register()
    return Tab(show=_show_step(w, actions, studio.lang, dataset), messages=[w.message],
               plots=[Plot(w.loss_plot, None, "ax_step", "ax_loss")])


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
