"""Dataset tab: drop pictures (or a zip), edit each picture's tags, bulk-edit tags, see tag counts and warnings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pandas as pd

from .. import dataset_store as store
from ..data import IMAGE_EXTENSIONS
from ..dataset_import import import_uploads
from ..sample_data import TRIGGER_WORD, make_sample_dataset
from ..studio_paths import list_datasets, newest_dataset, suggest_name
from . import tag_panel
from .common import Step, Studio, Tab, readable_errors, warn_all
from .i18n import I18N, StudioError, say, tr

DEFAULT_NAME = "my-character"


@dataclass
class DatasetWidgets:
    """The tab's components, in page order."""

    name: gr.Dropdown
    open_btn: gr.Button
    sample_btn: gr.Button
    files: gr.File
    trigger: gr.Textbox
    upload_btn: gr.Button
    message: gr.Markdown
    summary: gr.JSON
    rel_paths: gr.State  # the gallery's pictures, relative to the dataset folder, in gallery order
    current: gr.State  # the dataset the gallery shows: every action works on this one, never on typed text
    gallery: gr.Gallery
    selected: gr.Textbox
    tags_box: gr.Textbox
    save_btn: gr.Button
    delete_btn: gr.Button
    bulk: gr.Textbox
    add_all: gr.Button
    remove_all: gr.Button
    trigger_all: gr.Button
    tagging: tag_panel.TagPanelWidgets
    skipped: gr.Dropdown
    remove_skipped: gr.Button
    freq: gr.Dataframe
    warnings_md: gr.Markdown

    @property
    def drawn(self) -> list:
        """What DatasetActions.refresh and .show return, in this order."""
        return [self.gallery, self.rel_paths, self.freq, self.warnings_md, self.name, self.trigger, self.current,
                self.skipped, self.remove_skipped]


def _layout() -> DatasetWidgets:
    gr.Markdown(I18N("ds_intro"))
    with gr.Row():
        # Choices are filled on page load, never built into the page: with --auth, gradio shows the page's
        # description on the login page, and dataset names are the user's data.
        name = gr.Dropdown([], value=DEFAULT_NAME, allow_custom_value=True,
                           label=I18N("ds_name"), info=I18N("ds_name_info"), scale=3, elem_id="ds-name")
        with gr.Column(scale=1, min_width=180):
            open_btn = gr.Button(I18N("ds_open"))
            sample_btn = gr.Button(I18N("ds_make_sample"), size="sm")
    with gr.Row():
        with gr.Column(scale=3):
            files = gr.File(file_count="multiple", label=I18N("ds_upload"), height=160, elem_id="ds-files")
        with gr.Column(scale=2):
            trigger = gr.Textbox(label=I18N("ds_trigger"), info=I18N("ds_trigger_info"), elem_id="ds-trigger")
            upload_btn = gr.Button(I18N("ds_add"), variant="primary", elem_id="ds-add")
    message = gr.Markdown(elem_id="ds-message")
    summary = gr.JSON(visible=False)
    rel_paths = gr.State([])
    current = gr.State("")
    with gr.Row():
        with gr.Column(scale=3):
            gallery = gr.Gallery(label=I18N("ds_gallery"), columns=5, height=430, object_fit="contain", fit_columns=False,
                                 elem_id="ds-gallery")
        with gr.Column(scale=2):
            selected = gr.Textbox(label=I18N("ds_selected"), interactive=False, elem_id="ds-selected")
            tags_box = gr.Textbox(label=I18N("ds_tags"), info=I18N("ds_tags_info"), lines=3, elem_id="ds-tags")
            with gr.Row():
                save_btn = gr.Button(I18N("ds_save_tags"), variant="primary", elem_id="ds-save-tags")
                delete_btn = gr.Button(I18N("ds_delete"), variant="stop")
            bulk = gr.Textbox(label=I18N("ds_bulk"), info=I18N("ds_bulk_info"), elem_id="ds-bulk")
            with gr.Row():
                add_all = gr.Button(I18N("ds_add_all"), elem_id="ds-add-all")
                remove_all = gr.Button(I18N("ds_remove_all"))
                trigger_all = gr.Button(I18N("ds_trigger_all"))
    tagging = tag_panel.layout()
    with gr.Row():
        skipped = gr.Dropdown([], multiselect=True, label=I18N("ds_skipped"), info=I18N("ds_skipped_info"),
                              visible=False, scale=3, elem_id="ds-skipped")
        remove_skipped = gr.Button(I18N("ds_remove_skipped"), variant="stop", visible=False, scale=1,
                                   elem_id="ds-remove-skipped")
    with gr.Row():
        freq = gr.Dataframe(headers=["tag", "images"], label=I18N("ds_freq"), interactive=False, max_height=300,
                            elem_id="ds-freq")
        warnings_md = gr.Markdown(elem_id="ds-warnings")
    return DatasetWidgets(name, open_btn, sample_btn, files, trigger, upload_btn, message, summary, rel_paths, current,
                          gallery, selected, tags_box, save_btn, delete_btn, bulk, add_all, remove_all, trigger_all,
                          tagging, skipped, remove_skipped, freq, warnings_md)


def _table(view: store.DatasetView, lang: str) -> pd.DataFrame:
    return pd.DataFrame([[tag, count] for tag, count in view.tags.items()],
                        columns=[tr(lang, "col_tag"), tr(lang, "col_images")])


class DatasetActions:
    """What the server does for the tab's events, on datasets under the studio's datasets/ folder."""

    def __init__(self, studio: Studio) -> None:
        self.paths = studio.paths
        self.tagging = tag_panel.TagPanelActions(studio)

    def _drawn(self, dataset: str, lang: str, name: dict) -> tuple:
        """The dataset's gallery, tag counts, warnings and skipped pictures (DatasetWidgets.drawn's order)."""
        view = store.describe(self.paths.dataset(dataset))
        pictures = [(str(item.path), view.relative(item)) for item in view.items]
        if view.items:
            head = tr(lang, "ds_count", n=len(view.items), name=dataset)
        else:
            head = tr(lang, "ds_empty", name=dataset)
        notes = "\n".join(f"- {say(lang, line)}" for line in view.warnings)
        if view.skipped:
            notes += f"\n\n{tr(lang, 'ds_skipped_note', step=store.CHECK_BUCKET_STEP)}"
        warn_text = f"**{tr(lang, 'ds_warnings')}**\n\n{notes}" if notes else ""
        shown = bool(view.skipped)
        return (pictures, [view.relative(i) for i in view.items], _table(view, lang), f"{head}\n\n{warn_text}",
                name, view.trigger or gr.skip(), dataset,
                gr.update(choices=view.skipped, value=view.skipped, visible=shown), gr.update(visible=shown))

    @readable_errors
    def refresh(self, dataset: str, lang: str):
        """Open `dataset` (picked, typed or just changed) and draw it."""
        return self._drawn(dataset, lang, gr.update(choices=list_datasets(self.paths)))

    @readable_errors
    def show(self, typed: str, shown: str, lang: str):
        """The dataset on show, redrawn; on the page's first draw the newest dataset, unless a name was typed."""
        dataset = shown
        if not shown:
            newest = newest_dataset(self.paths)
            dataset = newest if newest and typed in ("", DEFAULT_NAME) else typed
        return self._drawn(dataset, lang, gr.update(choices=list_datasets(self.paths), value=dataset))

    @readable_errors
    def upload(self, uploads: list[str] | None, dataset: str, trigger_word: str, lang: str = "en"):
        """Save pictures (png/jpg/webp/bmp), their .txt tag files, or zips of both into datasets/<dataset>/."""
        folder = self.paths.dataset(dataset)
        if not uploads:
            raise StudioError("ds_no_files")
        report = import_uploads(folder, uploads)
        if trigger_word.strip() and report.saved:
            store.add_tag_everywhere(folder, trigger_word, first=True)
        warn_all(report.rejected, lang)
        pictures = [name for name in report.saved if Path(name).suffix.lower() in IMAGE_EXTENSIONS]
        text = tr(lang, "ds_saved" if report.saved else "ds_nothing_saved", n=len(pictures),
                  tags=len(report.saved) - len(pictures), name=dataset)
        if report.rejected:
            text += "\n\n" + tr(lang, "ds_refused") + "\n" + "\n".join(f"- {say(lang, r)}" for r in report.rejected)
        return text, {"dataset": dataset, "folder": str(folder), "saved": report.saved, "rejected": report.rejected}

    @readable_errors
    def name_from_zip(self, uploads: list[str] | None, dataset: str):
        # A single dropped zip names a new dataset after itself, unless one was picked already.
        if uploads and len(uploads) == 1 and uploads[0].lower().endswith(".zip") and dataset == DEFAULT_NAME:
            return suggest_name(Path(uploads[0]).stem)
        return gr.skip()

    @readable_errors
    def make_sample(self, lang: str):
        folder = make_sample_dataset(self.paths.dataset("sample-character"))
        return tr(lang, "ds_sample_made", folder=folder.name), gr.update(value="sample-character"), TRIGGER_WORD

    @readable_errors
    def select(self, event: gr.SelectData, rels: list[str], dataset: str):
        rel = rels[event.index] if event.index is not None and event.index < len(rels) else ""
        return rel, store.read_tags(self.paths.dataset(dataset), rel) if rel else ""

    @readable_errors
    def save_tags(self, dataset: str, rel: str, text: str, lang: str):
        if not rel:
            raise StudioError("ds_pick_first")
        tags = store.write_tags(self.paths.dataset(dataset), rel, text)
        return tr(lang, "ds_tags_saved", name=rel, n=len(tags))

    @readable_errors
    def delete(self, dataset: str, rel: str, lang: str):
        if not rel:
            raise StudioError("ds_pick_first")
        store.delete_picture(self.paths.dataset(dataset), rel)
        return tr(lang, "ds_deleted", name=rel), "", ""

    @readable_errors
    def delete_skipped(self, dataset: str, rels: list[str] | None, lang: str):
        if not rels:
            raise StudioError("ds_pick_skipped")
        for rel in rels:
            store.delete_picture(self.paths.dataset(dataset), rel)
        return tr(lang, "ds_removed_n", n=len(rels))

    # The three bulk edits take the same inputs (the bulk tag box and the trigger word), each using its own.

    @readable_errors
    def add_to_all(self, dataset: str, tag: str, trigger_word: str, lang: str):
        return tr(lang, "ds_bulk_done", n=store.add_tag_everywhere(self.paths.dataset(dataset), tag))

    @readable_errors
    def remove_from_all(self, dataset: str, tag: str, trigger_word: str, lang: str):
        return tr(lang, "ds_bulk_done", n=store.remove_tag_everywhere(self.paths.dataset(dataset), tag))

    @readable_errors
    def trigger_first_everywhere(self, dataset: str, tag: str, trigger_word: str, lang: str):
        return tr(lang, "ds_bulk_done", n=store.add_tag_everywhere(self.paths.dataset(dataset), trigger_word, first=True))


def _wire(w: DatasetWidgets, actions: DatasetActions, lang: gr.State) -> None:
    private = dict(api_visibility="private")
    # Opening reads the name box; every later action redraws the dataset on show (`current`), never typed text.
    open_named = dict(fn=actions.refresh, inputs=[w.name, lang], outputs=w.drawn, **private)
    redraw = dict(fn=actions.refresh, inputs=[w.current, lang], outputs=w.drawn, **private)
    w.files.upload(actions.name_from_zip, [w.files, w.name], [w.name], **private)
    w.upload_btn.click(actions.upload, [w.files, w.name, w.trigger, lang], [w.message, w.summary],
                       api_name="upload_dataset").then(**open_named).then(lambda: None, None, [w.files], **private)
    # A picked, typed (Enter or leaving the box) or programmatically set name opens that dataset.
    for opened in (w.open_btn.click, w.name.change):
        opened(**open_named)
    w.sample_btn.click(actions.make_sample, [lang], [w.message, w.name, w.trigger], **private).then(**open_named)
    w.gallery.select(actions.select, [w.rel_paths, w.current], [w.selected, w.tags_box], **private)
    w.save_btn.click(actions.save_tags, [w.current, w.selected, w.tags_box, lang], [w.message], **private).then(
        **redraw)
    w.delete_btn.click(actions.delete, [w.current, w.selected, lang], [w.message, w.selected, w.tags_box],
                       **private).then(**redraw)
    w.remove_skipped.click(actions.delete_skipped, [w.current, w.skipped, lang], [w.message], **private).then(
        **redraw)
    for button, edit in ((w.add_all, actions.add_to_all), (w.remove_all, actions.remove_from_all),
                         (w.trigger_all, actions.trigger_first_everywhere)):
        button.click(edit, [w.current, w.bulk, w.trigger, lang], [w.message], **private).then(**redraw)
    tag_panel.wire(w.tagging, actions.tagging, lang, current=w.current, trigger=w.trigger, message=w.message,
                   redraw=redraw)


def build(studio: Studio) -> Tab:
    """The tab; the Train tab reads its dataset on show and trigger word (`shared`)."""
    w = _layout()
    actions = DatasetActions(studio)
    _wire(w, actions, studio.lang)
    return Tab(show=Step(actions.show, [w.name, w.current, studio.lang], w.drawn), messages=[w.message],
               shared={"dataset": w.current, "trigger": w.trigger})
