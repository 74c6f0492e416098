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
class TagPanel:
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


def build() -> TagPanel:
    """The tagging form and the pruning step, placed where the Dataset tab calls this."""
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
    return TagPanel(model, threshold, character_threshold, mode, ratings, exclude, run, undo, prune_note, prune_tags,
                    find, remove, gr.JSON(visible=False), gr.State([]))


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


# ---------------------------------------------------------------- events


def wire(panel: TagPanel, studio: Studio, *, current: gr.State, trigger: gr.Textbox, message: gr.Markdown,
         refresh: Callable, refresh_outputs: list) -> None:
    """Connect the panel to the dataset the gallery shows (`current`); every change refreshes the gallery."""
    paths, lang = studio.paths, studio.lang
    private = dict(api_visibility="private")

    @readable_errors
    def run(dataset: str, model: str, threshold: float, character_threshold: float, mode: str, ratings: bool,
            exclude: str, trigger_word: str, lang: str, progress=PROGRESS):
        options = TagOptions(model=model, threshold=threshold, character_threshold=character_threshold, mode=mode,
                             ratings=ratings, exclude=exclude or "", trigger=trigger_word or "")
        progress(0, desc=tr(lang, "tg_loading", model=model))
        text, summary = tag_folder(paths.dataset(dataset), dataset, options, lang,
                                   lambda done, total: progress((done, total), desc=tr(lang, "tg_progress")))
        return text, summary, summary["character_tags"]

    @readable_errors
    def find(dataset: str, trigger_word: str, character_tags: list[str], lang: str):
        return prune_choices(paths.dataset(dataset), trigger_word, character_tags, lang)

    @readable_errors
    def relabel(dataset: str, trigger_word: str, character_tags: list[str], checked: list[str], lang: str):
        # The checkbox labels are written by the server: a language switch redraws them, keeping what is checked.
        if not dataset or not checked:
            return gr.skip(), gr.skip()
        return prune_choices(paths.dataset(dataset), trigger_word, character_tags, lang, checked)

    @readable_errors
    def prune(dataset: str, tags: list[str], character_tags: list[str], lang: str):
        return remove_from_all(paths.dataset(dataset), tags, character_tags, lang)

    @readable_errors
    def undo(dataset: str, lang: str):
        return restore(paths.dataset(dataset), dataset, lang)

    then_refresh = dict(fn=refresh, inputs=[current, lang], outputs=refresh_outputs, **private)
    then_find = dict(fn=find, inputs=[current, trigger, panel.character_tags, lang],
                     outputs=[panel.prune_tags, panel.prune_note], **private)
    inputs = [current, panel.model, panel.threshold, panel.character_threshold, panel.mode, panel.ratings,
              panel.exclude, trigger, lang]
    panel.run.click(run, inputs, [message, panel.summary, panel.character_tags], concurrency_limit=1,
                    concurrency_id="tagger", **private).success(**then_refresh).then(**then_find)
    panel.find.click(**then_find)
    lang.change(relabel, [current, trigger, panel.character_tags, panel.prune_tags, lang],
                [panel.prune_tags, panel.prune_note], **private)
    panel.remove.click(prune, [current, panel.prune_tags, panel.character_tags, lang], [message], **private).success(
        **then_refresh).then(**then_find)
    panel.undo.click(undo, [current, lang], [message], **private).success(**then_refresh).then(**then_find)
    _api(studio)


def _api(studio: Studio) -> None:
    paths = studio.paths

    @readable_errors
    def tag_dataset(dataset: str, model: str = DEFAULT_MODEL, threshold: float = 0.35,
                    character_threshold: float = 0.85, mode: str = "add", trigger: str = "", exclude: str = "",
                    ratings: bool = False) -> dict:
        """Tag every picture of datasets/<dataset> with a WD tagger (or tiny); mode add, replace or keep."""
        options = TagOptions(model=model, threshold=threshold, character_threshold=character_threshold, mode=mode,
                             trigger=trigger, exclude=exclude, ratings=ratings)
        return tag_folder(paths.dataset(dataset), dataset, options, "en")[1]

    @readable_errors
    def prune_tags(dataset: str, tags: list[str]) -> str:
        """Remove these tags from every picture of datasets/<dataset> (undo with restore_tags)."""
        return remove_from_all(paths.dataset(dataset), tags, [], "en")

    @readable_errors
    def restore_tags(dataset: str) -> str:
        """Put back the tags from before the last automatic tagging or prune_tags (once)."""
        return restore(paths.dataset(dataset), dataset, "en")

    gr.api(tag_dataset, api_name="tag_dataset", concurrency_limit=1, concurrency_id="tagger")
    gr.api(prune_tags, api_name="prune_tags")
    gr.api(restore_tags, api_name="restore_tags")
