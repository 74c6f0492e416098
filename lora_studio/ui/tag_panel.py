"""The Dataset tab's automatic tagging: tag every picture with a WD tagger, prune the tags that describe the
character, undo the last automatic change. Also the `tag_dataset`, `prune_tags` and `restore_tags` API endpoints.

The studio offers only its listed taggers (never a folder path typed in a browser); the CLI takes any.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from .. import dataset_store as store
from ..tag_options import DEFAULT_MODEL, HUB_MODELS, TINY, TagOptions
from .common import Studio, readable_errors
from .i18n import I18N, StudioError, tr

STUDIO_MODELS = (*HUB_MODELS, TINY)
PROGRESS = gr.Progress()  # gradio fills in a per-call tracker for a parameter defaulting to one


@dataclass
class TagPanelWidgets:
    """The tagging form and the pruning step, inside one accordion of the Dataset tab."""

    model: gr.Dropdown
    threshold: gr.Slider
    character_threshold: gr.Slider
    mode: gr.Radio
    ratings: gr.Checkbox
    exclude: gr.Textbox
    run: gr.Button
    undo: gr.Button
    prune_note: gr.Markdown
    prune_tags: gr.CheckboxGroup
    find: gr.Button
    remove: gr.Button
    summary: gr.JSON
    character_tags: gr.State  # what the tagger recognised as character names in the last run


def layout() -> TagPanelWidgets:
    """The panel's components, placed where the Dataset tab's layout calls this (no events)."""
    with gr.Accordion(I18N("tg_title"), open=False, elem_id="ds-tagger"):
        gr.Markdown(I18N("tg_intro"))
        with gr.Row():
            model = gr.Dropdown([(name, name) for name in STUDIO_MODELS], value=DEFAULT_MODEL, label=I18N("tg_model"),
                                info=I18N("tg_model_info"), elem_id="ds-tag-model")
            mode = gr.Radio([(I18N("tg_mode_add"), "add"), (I18N("tg_mode_replace"), "replace"),
                             (I18N("tg_mode_keep"), "keep")], value="add", label=I18N("tg_mode"), elem_id="ds-tag-mode")
        with gr.Row():
            threshold = gr.Slider(0.05, 1.0, value=0.35, step=0.01, label=I18N("tg_threshold"),
                                  info=I18N("tg_threshold_info"))
            character_threshold = gr.Slider(0.05, 1.0, value=0.85, step=0.01, label=I18N("tg_char_threshold"),
                                            info=I18N("tg_char_threshold_info"))
        with gr.Row():
            exclude = gr.Textbox(label=I18N("tg_exclude"), info=I18N("tg_exclude_info"), scale=3, elem_id="ds-tag-exclude")
            ratings = gr.Checkbox(False, label=I18N("tg_ratings"), scale=1)
        with gr.Row():
            run = gr.Button(I18N("tg_run"), variant="primary", elem_id="ds-tag-run")
            undo = gr.Button(I18N("tg_undo"), elem_id="ds-tag-undo")
        gr.Markdown(I18N("pr_why"))
        prune_note = gr.Markdown(elem_id="ds-prune-note")
        prune_tags = gr.CheckboxGroup([], label=I18N("pr_tags"), elem_id="ds-prune-tags")
        with gr.Row():
            find = gr.Button(I18N("pr_find"), elem_id="ds-prune-find")
            remove = gr.Button(I18N("pr_remove"), variant="stop", elem_id="ds-prune-run")
    return TagPanelWidgets(model, threshold, character_threshold, mode, ratings, exclude, run, undo, prune_note,
                           prune_tags, find, remove, summary=gr.JSON(visible=False), character_tags=gr.State([]))


# ---------------------------------------------------------------- the work, shared by the page and the API


def _pictures(folder: Path, name: str) -> list:
    view = store.describe(folder)  # the pictures training uses; linked files already left out
    if not view.items:
        raise StudioError("tg_no_pictures", name=name)
    return view.items


def tag_folder(folder: Path, name: str, options: TagOptions, lang: str,
               progress: Callable[[int, int], None] | None = None) -> tuple[str, dict]:
    from ..tag_files import tag_items
    from ..tagger import load_tagger

    if options.model not in STUDIO_MODELS:
        raise StudioError("tg_bad_model", model=options.model, choices=", ".join(STUDIO_MODELS))
    options.check()
    items = _pictures(folder, name)
    tagger = load_tagger(options.model)
    try:
        report = tag_items(folder, items, tagger, options, progress)
    finally:
        tagger.release()
    text = tr(lang, "tg_done", tagged=report.tagged, total=report.pictures, model=options.model, changed=report.changed)
    if tagger.note:
        text += f"\n\nℹ️ {tr(lang, 'tagger.tiny_note')}"
    summary = {"dataset": name, "model": options.model, "pictures": report.pictures, "tagged": report.tagged,
               "changed": report.changed, "character_tags": report.character_tags, "captions": report.captions,
               "skipped": report.skipped}
    return text, summary


def prune_choices(folder: Path, trigger: str, character_tags: list[str], lang: str, checked: list[str] | None = None):
    """The pruning checkboxes (all checked, or those of `checked` still found) and the sentence above them."""
    from ..tag_files import backup_info
    from ..tag_prune import candidates

    known = set(character_tags or [])
    info = backup_info(folder) if not folder.is_symlink() else None
    known.update(info["character_tags"] if info else [])
    view = store.describe(folder)
    found = candidates([item.tags for item in view.items], trigger or view.trigger, known)
    choices = [(tr(lang, "pr_choice", tag=c.tag, count=c.count, total=c.total, kind=tr(lang, f"pr_kind_{c.kind}")),
                c.tag) for c in found]
    note = tr(lang, "pr_found", n=len(found)) if found else tr(lang, "pr_none")
    value = [c.tag for c in found if checked is None or c.tag in checked]
    return gr.update(choices=choices, value=value), note


def remove_from_all(folder: Path, tags: list[str], character_tags: list[str], lang: str) -> str:
    from ..tag_files import remove_tags

    if not tags:
        raise StudioError("pr_pick")
    n = remove_tags(folder, store.describe(folder).items, tags, character_tags)
    return tr(lang, "pr_removed", tags=", ".join(tags), n=n)


def restore(folder: Path, name: str, lang: str) -> str:
    from ..tag_files import backup_info, restore_backup

    if folder.is_symlink() or backup_info(folder) is None:
        raise StudioError("tg_no_backup", name=name)
    return tr(lang, "tg_restored", n=restore_backup(folder))


# ---------------------------------------------------------------- what the server does


class TagPanelActions:
    """The panel's event handlers and the three API endpoints, all on a dataset under the studio's datasets/."""

    def __init__(self, studio: Studio) -> None:
        self.paths = studio.paths

    @readable_errors
    def run(self, dataset: str, model: str, threshold: float, character_threshold: float, mode: str, ratings: bool,
            exclude: str, trigger_word: str, lang: str, progress=PROGRESS):
        options = TagOptions(model=model, threshold=threshold, character_threshold=character_threshold, mode=mode,
                             ratings=ratings, exclude=exclude or "", trigger=trigger_word or "")
        progress(0, desc=tr(lang, "tg_loading", model=model))
        text, summary = tag_folder(self.paths.dataset(dataset), dataset, options, lang,
                                   lambda done, total: progress((done, total), desc=tr(lang, "tg_progress")))
        return text, summary, summary["character_tags"]

    @readable_errors
    def find(self, dataset: str, trigger_word: str, character_tags: list[str], lang: str):
        return prune_choices(self.paths.dataset(dataset), trigger_word, character_tags, lang)

    @readable_errors
    def relabel(self, dataset: str, trigger_word: str, character_tags: list[str], checked: list[str], lang: str):
        # The checkbox labels are written by the server: a language switch redraws them, keeping what is checked.
        if not dataset or not checked:
            return gr.skip(), gr.skip()
        return prune_choices(self.paths.dataset(dataset), trigger_word, character_tags, lang, checked)

    @readable_errors
    def prune(self, dataset: str, tags: list[str], character_tags: list[str], lang: str):
        return remove_from_all(self.paths.dataset(dataset), tags, character_tags, lang)

    @readable_errors
    def undo(self, dataset: str, lang: str):
        return restore(self.paths.dataset(dataset), dataset, lang)

    # The API endpoints answer in English; their signatures and docstrings are what gradio_client's view_api lists.

    @readable_errors
    def tag_dataset(self, dataset: str, model: str = DEFAULT_MODEL, threshold: float = 0.35,
                    character_threshold: float = 0.85, mode: str = "add", trigger: str = "", exclude: str = "",
                    ratings: bool = False) -> dict:
        """Tag every picture of datasets/<dataset> with a WD tagger (or tiny); mode add, replace or keep."""
        options = TagOptions(model=model, threshold=threshold, character_threshold=character_threshold, mode=mode,
                             trigger=trigger, exclude=exclude, ratings=ratings)
        return tag_folder(self.paths.dataset(dataset), dataset, options, "en")[1]

    @readable_errors
    def prune_tags(self, dataset: str, tags: list[str]) -> str:
        """Remove these tags from every picture of datasets/<dataset> (undo with restore_tags)."""
        return remove_from_all(self.paths.dataset(dataset), tags, [], "en")

    @readable_errors
    def restore_tags(self, dataset: str) -> str:
        """Put back the tags from before the last automatic tagging or prune_tags (once)."""
        return restore(self.paths.dataset(dataset), dataset, "en")


# ---------------------------------------------------------------- events


def wire(w: TagPanelWidgets, actions: TagPanelActions, lang: gr.State, *, current: gr.State, trigger: gr.Textbox,
         message: gr.Markdown, redraw: dict) -> None:
    """Connect the panel to the dataset the gallery shows (`current`); every change ends with `redraw` (the
    Dataset tab's refresh event), then offers the tags to prune again."""
    private = dict(api_visibility="private")
    then_find = dict(fn=actions.find, inputs=[current, trigger, w.character_tags, lang],
                     outputs=[w.prune_tags, w.prune_note], **private)
    inputs = [current, w.model, w.threshold, w.character_threshold, w.mode, w.ratings, w.exclude, trigger, lang]
    # One tagger at a time, from the page or the API: each holds a model in memory.
    w.run.click(actions.run, inputs, [message, w.summary, w.character_tags], concurrency_limit=1,
                concurrency_id="tagger", **private).success(**redraw).then(**then_find)
    w.find.click(**then_find)
    lang.change(actions.relabel, [current, trigger, w.character_tags, w.prune_tags, lang],
                [w.prune_tags, w.prune_note], **private)
    w.remove.click(actions.prune, [current, w.prune_tags, w.character_tags, lang], [message], **private).success(
        **redraw).then(**then_find)
    w.undo.click(actions.undo, [current, lang], [message], **private).success(**redraw).then(**then_find)
    gr.api(actions.tag_dataset, api_name="tag_dataset", concurrency_limit=1, concurrency_id="tagger")
    gr.api(actions.prune_tags, api_name="prune_tags")
    gr.api(actions.restore_tags, api_name="restore_tags")
