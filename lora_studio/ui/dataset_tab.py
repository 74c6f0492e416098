"""Dataset tab: drop pictures (or a zip), edit each picture's tags, bulk-edit tags, see tag counts and warnings."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pandas as pd

from .. import dataset_store as store
from ..data import IMAGE_EXTENSIONS
from ..sample_data import TRIGGER_WORD, make_sample_dataset
from ..studio_paths import list_datasets, newest_dataset, suggest_name
from . import tag_panel
from .common import Step, Studio, Tab, readable_errors, warn_all
from .i18n import I18N, StudioError, say, tr

DEFAULT_NAME = "my-character"


def _table(view: store.DatasetView, lang: str) -> pd.DataFrame:
    return pd.DataFrame([[tag, count] for tag, count in view.tags.items()],
                        columns=[tr(lang, "col_tag"), tr(lang, "col_images")])


def build(studio: Studio) -> Tab:
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
    current = gr.State("")  # the dataset the gallery shows: every action works on this one, never on typed text
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
    tagging = tag_panel.build()
    with gr.Row():
        skipped = gr.Dropdown([], multiselect=True, label=I18N("ds_skipped"), info=I18N("ds_skipped_info"),
                              visible=False, scale=3, elem_id="ds-skipped")
        remove_skipped = gr.Button(I18N("ds_remove_skipped"), variant="stop", visible=False, scale=1,
                                   elem_id="ds-remove-skipped")
    with gr.Row():
        freq = gr.Dataframe(headers=["tag", "images"], label=I18N("ds_freq"), interactive=False, max_height=300,
                            elem_id="ds-freq")
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
        notes = "\n".join(f"- {say(lang, line)}" for line in view.warnings)
        if view.skipped:
            notes += f"\n\n{tr(lang, 'ds_skipped_note', step=store.CHECK_BUCKET_STEP)}"
        warn_text = f"**{tr(lang, 'ds_warnings')}**\n\n{notes}" if notes else ""
        shown = bool(view.skipped)
        return (pictures, [view.relative(i) for i in view.items], _table(view, lang), f"{head}\n\n{warn_text}",
                gr.update(choices=list_datasets(paths)), view.trigger or gr.skip(), dataset,
                gr.update(choices=view.skipped, value=view.skipped, visible=shown), gr.update(visible=shown))

    refresh_outputs = [gallery, rel_paths, freq, warnings_md, name, trigger, current, skipped, remove_skipped]

    @readable_errors
    def upload(uploads: list[str] | None, dataset: str, trigger_word: str, lang: str = "en"):
        """Save pictures (png/jpg/webp/bmp), their .txt tag files, or zips of both into datasets/<dataset>/."""
        folder = paths.dataset(dataset)
        if not uploads:
            raise StudioError("ds_no_files")
        report = store.import_uploads(folder, uploads)
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
    def select(event: gr.SelectData, rels: list[str], dataset: str):
        rel = rels[event.index] if event.index is not None and event.index < len(rels) else ""
        return rel, store.read_tags(paths.dataset(dataset), rel) if rel else ""

    @readable_errors
    def save_tags(dataset: str, rel: str, text: str, lang: str):
        if not rel:
            raise StudioError("ds_pick_first")
        tags = store.write_tags(paths.dataset(dataset), rel, text)
        return tr(lang, "ds_tags_saved", name=rel, n=len(tags))

    @readable_errors
    def delete(dataset: str, rel: str, lang: str):
        if not rel:
            raise StudioError("ds_pick_first")
        store.delete_picture(paths.dataset(dataset), rel)
        return tr(lang, "ds_deleted", name=rel), "", ""

    @readable_errors
    def delete_skipped(dataset: str, rels: list[str] | None, lang: str):
        if not rels:
            raise StudioError("ds_pick_skipped")
        for rel in rels:
            store.delete_picture(paths.dataset(dataset), rel)
        return tr(lang, "ds_removed_n", n=len(rels))

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
    then_refresh = dict(fn=refresh, inputs=[name, lang], outputs=refresh_outputs, api_visibility="private")
    files.upload(name_from_zip, [files, name], [name], api_visibility="private")
    upload_btn.click(upload, [files, name, trigger, lang], [message, summary], api_name="upload_dataset").then(
        **then_refresh).then(lambda: None, None, [files], api_visibility="private")
    # A picked, typed (Enter or leaving the box) or programmatically set name opens that dataset.
    for trigger_event in (open_btn.click, name.change):
        trigger_event(**then_refresh)
    sample_btn.click(make_sample, [lang], [message, name, trigger], api_visibility="private").then(**then_refresh)
    gallery.select(select, [rel_paths, current], [selected, tags_box], api_visibility="private")
    save_btn.click(save_tags, [current, selected, tags_box, lang], [message], api_visibility="private").then(
        refresh, [current, lang], refresh_outputs, api_visibility="private")
    delete_btn.click(delete, [current, selected, lang], [message, selected, tags_box], api_visibility="private").then(
        refresh, [current, lang], refresh_outputs, api_visibility="private")
    remove_skipped.click(delete_skipped, [current, skipped, lang], [message], api_visibility="private").then(
        refresh, [current, lang], refresh_outputs, api_visibility="private")
    for button, kind in ((add_all, "add"), (remove_all, "remove"), (trigger_all, "trigger")):
        button.click(bulk_action(kind), [current, bulk, trigger, lang], [message], api_visibility="private").then(
            refresh, [current, lang], refresh_outputs, api_visibility="private")

    tag_panel.wire(tagging, studio, current=current, trigger=trigger, message=message, refresh=refresh,
                   refresh_outputs=refresh_outputs)

    @readable_errors
    def show(typed: str, shown: str, lang: str):
        """The dataset on show, redrawn; on the page's first draw the newest dataset, unless a name was typed."""
        dataset = shown
        if not shown:
            newest = newest_dataset(paths)
            dataset = newest if newest and typed in ("", DEFAULT_NAME) else typed
        values = list(refresh(dataset, lang))
        values[refresh_outputs.index(name)] = gr.update(choices=list_datasets(paths), value=dataset)
        return values

    return Tab(show=Step(show, [name, current, lang], refresh_outputs), messages=[message],
               shared={"dataset": current, "trigger": trigger})
