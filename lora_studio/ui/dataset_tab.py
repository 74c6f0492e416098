"""Dataset tab: drop pictures (or a zip), edit each picture's tags, bulk-edit tags, see tag counts and warnings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ..errors import UserError
from ..sample_data import TRIGGER_WORD, make_sample_dataset
from . import dataset_store as store
from .common import Studio, readable_errors
from .i18n import I18N, tr
from .paths import list_datasets, suggest_name

DEFAULT_NAME = "my-character"


@dataclass
class DatasetTab:
    name: gr.Dropdown
    trigger: gr.Textbox
    refresh_outputs: list
    refresh: object  # (name, lang) -> values for refresh_outputs
    first: object  # (current name) -> the dataset dropdown with its choices and the first existing dataset picked


def build(studio: Studio) -> DatasetTab:
    paths = studio.paths

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
                add_all = gr.Button(I18N("ds_add_all"))
                remove_all = gr.Button(I18N("ds_remove_all"))
                trigger_all = gr.Button(I18N("ds_trigger_all"))
    with gr.Row():
        freq = gr.Dataframe(headers=["tag", "images"], label=I18N("ds_freq"), interactive=False, max_height=300)
        warnings_md = gr.Markdown(elem_id="ds-warnings")

    @readable_errors
    def refresh(dataset: str, lang: str):
        folder = paths.dataset(dataset)
        view = store.describe(folder)
        pictures = [(str(item.path), view.relative(item)) for item in view.items]
        if view.items:
            head = tr(lang, "ds_count", n=len(view.items), name=dataset)
        else:
            head = tr(lang, "ds_empty", name=dataset)
        notes = "\n".join(f"- {line}" for line in view.warnings)
        warn_text = f"**{tr(lang, 'ds_warnings')}**\n\n{notes}" if notes else ""
        rows = [[tag, count] for tag, count in view.tags.items()]
        return (pictures, [view.relative(i) for i in view.items], rows or None, f"{head}\n\n{warn_text}",
                gr.update(choices=list_datasets(paths)), view.trigger or gr.skip())

    refresh_outputs = [gallery, rel_paths, freq, warnings_md, name, trigger]

    @readable_errors
    def upload(uploads: list[str] | None, dataset: str, trigger_word: str, lang: str = "en"):
        """Save pictures (png/jpg/webp/bmp), their .txt tag files, or zips of both into datasets/<dataset>/."""
        folder = paths.dataset(dataset)
        if not uploads:
            raise UserError(tr(lang, "ds_no_files"))
        report = store.import_uploads(folder, uploads)
        if trigger_word.strip() and report.saved:
            store.add_tag_everywhere(folder, trigger_word, first=True)
        for line in report.rejected[:5]:
            gr.Warning(line)
        text = tr(lang, "ds_saved", n=len(report.saved), name=dataset)
        if report.rejected:
            text += "\n\n" + tr(lang, "ds_refused") + "\n" + "\n".join(f"- {line}" for line in report.rejected)
        return text, {"dataset": dataset, "folder": str(folder), "saved": report.saved, "rejected": report.rejected}

    @readable_errors
    def select(event: gr.SelectData, rels: list[str], dataset: str):
        rel = rels[event.index] if event.index is not None and event.index < len(rels) else ""
        return rel, store.read_tags(paths.dataset(dataset), rel) if rel else ""

    @readable_errors
    def save_tags(dataset: str, rel: str, text: str, lang: str):
        if not rel:
            raise UserError(tr(lang, "ds_pick_first"))
        tags = store.write_tags(paths.dataset(dataset), rel, text)
        return tr(lang, "ds_tags_saved", name=rel, n=len(tags))

    @readable_errors
    def delete(dataset: str, rel: str, lang: str):
        if not rel:
            raise UserError(tr(lang, "ds_pick_first"))
        store.delete_picture(paths.dataset(dataset), rel)
        return tr(lang, "ds_deleted", name=rel), "", ""

    def bulk_action(kind: str):
        @readable_errors
        def run(dataset: str, tag: str, trigger_word: str, lang: str):
            folder = paths.dataset(dataset)
            if kind == "add":
                n = store.add_tag_everywhere(folder, tag)
            elif kind == "remove":
                n = store.remove_tag_everywhere(folder, tag)
            else:
                n = store.add_tag_everywhere(folder, trigger_word, first=True)
            return tr(lang, "ds_bulk_done", n=n)
        return run

    @readable_errors
    def make_sample(lang: str):
        folder = make_sample_dataset(paths.dataset("sample-character"))
        return tr(lang, "ds_sample_made", folder=folder.name), gr.update(value="sample-character"), TRIGGER_WORD

    @readable_errors
    def name_from_zip(uploads: list[str] | None, dataset: str):
        # A single dropped zip names a new dataset after itself, unless one was picked already.
        if uploads and len(uploads) == 1 and uploads[0].lower().endswith(".zip") and dataset == DEFAULT_NAME:
            return suggest_name(Path(uploads[0]).stem)
        return gr.skip()

    lang = studio.lang
    files.upload(name_from_zip, [files, name], [name], api_visibility="private")
    upload_btn.click(upload, [files, name, trigger, lang], [message, summary], api_name="upload_dataset").then(
        refresh, [name, lang], refresh_outputs, api_visibility="private").then(
        lambda: None, None, [files], api_visibility="private")
    for trigger_event in (open_btn.click, name.select):
        trigger_event(refresh, [name, lang], refresh_outputs, api_visibility="private")
    sample_btn.click(make_sample, [lang], [message, name, trigger], api_visibility="private").then(
        refresh, [name, lang], refresh_outputs, api_visibility="private")
    gallery.select(select, [rel_paths, name], [selected, tags_box], api_visibility="private")
    save_btn.click(save_tags, [name, selected, tags_box, lang], [message], api_visibility="private").then(
        refresh, [name, lang], refresh_outputs, api_visibility="private")
    delete_btn.click(delete, [name, selected, lang], [message, selected, tags_box], api_visibility="private").then(
        refresh, [name, lang], refresh_outputs, api_visibility="private")
    for button, kind in ((add_all, "add"), (remove_all, "remove"), (trigger_all, "trigger")):
        button.click(bulk_action(kind), [name, bulk, trigger, lang], [message], api_visibility="private").then(
            refresh, [name, lang], refresh_outputs, api_visibility="private")
    @readable_errors
    def first(current: str):
        existing = list_datasets(paths)
        untouched = current in ("", DEFAULT_NAME)  # a name typed before the page finished loading stays
        return gr.update(choices=existing, value=existing[0] if existing and untouched else current)

    return DatasetTab(name=name, trigger=trigger, refresh_outputs=refresh_outputs, refresh=refresh, first=first)
