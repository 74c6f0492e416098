"""Generate tab: a base plus up to three of the studio's adapters -> PNGs (with A1111 parameters) in
outputs/generated; prompt suggestions come from the adapter's run: its trigger word and most frequent tags."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from PIL import Image

from ..config import SAMPLERS, read_yaml
from ..data import parse_tags
from ..errors import UserError
from ..generate import GenerateConfig
from ..models import TINY, TINY_SDXL, is_tiny
from .common import Step, Studio, Tab, readable_errors
from .i18n import I18N, StudioError, tr
from .train_tab import suggested_tags

SLOTS = 3
PROGRESS = gr.Progress()  # gradio fills in a per-call tracker for a parameter defaulting to one
DEFAULTS = GenerateConfig(base=TINY)  # the one source of generation defaults (the CLI reads it too)


def adapter_choices(studio: Studio) -> list[tuple[str, str]]:
    return [(f"{p.parent.name} / {p.name}", str(p)) for p in studio.jobs.adapters()]


def _adapter_path(studio: Studio, value: str) -> Path:
    """Only adapters the studio trained (files under outputs/) are loaded."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = studio.paths.outputs / path
    path = path.resolve()
    if not path.is_relative_to(studio.paths.outputs) or path.suffix != ".safetensors" or not path.is_file():
        raise StudioError("gen_bad_adapter", value=value, outputs=str(studio.paths.outputs))
    return path


def merge_suggestions(prompt: str, selected: list[str], offered: list[str]) -> str:
    """The prompt with the ticked suggestions added (in the offered order) and the unticked ones removed."""
    current = parse_tags(prompt or "")
    kept = [t for t in current if t not in offered or t in selected]
    added = [t for t in offered if t in selected and t not in current]
    if offered and offered[0] in added:  # the trigger word goes first
        added.remove(offered[0])
        kept.insert(0, offered[0])
    return ", ".join(kept + added)


def caption(path: Path, lang: str) -> str:
    """The gallery's short caption (the seed); the full parameters are in the box below the gallery."""
    seed = re.search(r"\bSeed: (\d+)", _params(path))
    return tr(lang, "gen_caption", seed=seed[1] if seed else "?")


def _params(path: Path) -> str:
    with Image.open(path) as image:
        return str(image.info.get("parameters", ""))


@dataclass
class GenerateWidgets:
    """The Generate tab's components; `slots` holds each slot's adapter dropdown and strength slider, in turn."""

    prompt: gr.Textbox
    suggestions: gr.CheckboxGroup
    negative: gr.Textbox
    slots: list
    base: gr.Textbox
    seed: gr.Number
    steps: gr.Slider
    guidance: gr.Slider
    sampler: gr.Dropdown
    width: gr.Number
    height: gr.Number
    batch: gr.Slider
    run: gr.Button
    message: gr.Markdown
    gallery: gr.Gallery
    params: gr.Textbox
    files: gr.File
    shown: gr.State  # the PNG paths in the gallery, to show a clicked picture's parameters
    offered: gr.State  # the suggestions offered for the first slot's adapter

    @property
    def adapters(self) -> list[gr.Dropdown]:
        return self.slots[0::2]


def _layout() -> GenerateWidgets:
    gr.Markdown(I18N("gen_intro"))
    with gr.Row():
        with gr.Column(scale=3):
            prompt = gr.Textbox(label=I18N("gen_prompt"), info=I18N("gen_prompt_info"), lines=3,
                                elem_id="gen-prompt")
            suggestions = gr.CheckboxGroup([], label=I18N("gen_suggestions"), info=I18N("gen_suggestions_info"),
                                           elem_id="gen-suggestions")
            negative = gr.Textbox(DEFAULTS.negative_prompt, label=I18N("gen_negative"), info=I18N("gen_negative_info"))
            slots = []
            for i in range(SLOTS):
                with gr.Row():
                    adapter = gr.Dropdown([], value=None, label=I18N(f"gen_adapter_{i + 1}"), scale=3,
                                          allow_custom_value=True, elem_id=f"gen-adapter-{i + 1}")
                    scale = gr.Slider(-1.0, 2.0, value=1.0, step=0.05, label=I18N("gen_scale"), scale=2,
                                      info=I18N("gen_scale_info") if i == 0 else None)
                slots += [adapter, scale]
            base = gr.Textbox(TINY, label=I18N("gen_base"), info=I18N("gen_base_info"), elem_id="gen-base")
        with gr.Column(scale=2):
            seed = gr.Number(DEFAULTS.seed, label=I18N("gen_seed"), info=I18N("gen_seed_info"), precision=0)
            steps = gr.Slider(1, 100, value=DEFAULTS.steps, step=1, label=I18N("gen_steps"), info=I18N("gen_steps_info"))
            guidance = gr.Slider(0.0, 20.0, value=DEFAULTS.guidance_scale, step=0.5, label=I18N("gen_guidance"),
                                 info=I18N("gen_guidance_info"))
            sampler = gr.Dropdown(list(SAMPLERS), value=DEFAULTS.sampler, label=I18N("gen_sampler"))
            with gr.Row():
                width = gr.Number(0, label=I18N("gen_width"), precision=0, minimum=0, maximum=2048, step=8)
                height = gr.Number(0, label=I18N("gen_height"), precision=0, minimum=0, maximum=2048, step=8)
            gr.Markdown(I18N("gen_size_info"))
            batch = gr.Slider(1, 8, value=DEFAULTS.batch_size, step=1, label=I18N("gen_batch"))
    run = gr.Button(I18N("gen_run"), variant="primary", elem_id="gen-run")
    message = gr.Markdown(elem_id="gen-message")
    gallery = gr.Gallery(label=I18N("gen_gallery"), columns=4, height=360, object_fit="contain", fit_columns=False,
                         elem_id="gen-gallery")
    params = gr.Textbox(label=I18N("gen_params"), lines=4, interactive=False, elem_id="gen-params")
    files = gr.File(label=I18N("gen_files"), file_count="multiple", interactive=False)
    return GenerateWidgets(prompt=prompt, suggestions=suggestions, negative=negative, slots=slots, base=base,
                           seed=seed, steps=steps, guidance=guidance, sampler=sampler, width=width, height=height,
                           batch=batch, run=run, message=message, gallery=gallery, params=params, files=files,
                           shown=gr.State([]), offered=gr.State([]))


class GenerateActions:
    """What the server does for the Generate tab: render PNGs, read an adapter's run, list the adapters."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    @readable_errors
    def generate(self, prompt: str, negative_prompt: str, adapter_1: str | None, scale_1: float,
                 adapter_2: str | None, scale_2: float, adapter_3: str | None, scale_3: float, base: str,
                 seed: float, steps: float, guidance_scale: float, sampler: str, width: float, height: float,
                 batch_size: float, lang: str = "en", progress=PROGRESS):
        """Generate images with the base and up to three trained adapters (file paths from list_runs' adapters).
        Returns the gallery (image, parameters) pairs, the PNG files and a message."""
        from ..generate import generate as generate_pngs
        from ..generate import get_pipeline

        paths = self.studio.paths
        loras = [f"{_adapter_path(self.studio, a)}:{s}" for a, s in
                 ((adapter_1, scale_1), (adapter_2, scale_2), (adapter_3, scale_3)) if a]
        base = (base or "").strip() or TINY
        cfg = GenerateConfig(base=base, loras=loras, prompt=prompt or "", negative_prompt=negative_prompt or "",
                             steps=int(steps), guidance_scale=float(guidance_scale), sampler=sampler,
                             seed=int(seed if seed is not None else -1), width=int(width or 0) or None,
                             height=int(height or 0) or None, batch_size=int(batch_size), out_dir=str(paths.generated))
        cfg.validate()
        progress(0.05, desc=tr(lang, "gen_loading", base=base))
        pipe = get_pipeline(base)
        working = tr(lang, "gen_working", n=cfg.batch_size)
        progress((0, cfg.steps), desc=working, unit="steps")
        written = generate_pngs(cfg, pipe=pipe,
                                on_step=lambda done, total: progress((done, total), desc=working, unit="steps"))
        pictures = [(str(p), caption(p, lang)) for p in written]
        text = tr(lang, "gen_done", n=len(written), folder=paths.generated)
        if is_tiny(base):
            text += f"\n\nℹ️ {tr(lang, 'models.tiny_sdxl_note' if base == TINY_SDXL else 'models.tiny_note')}"
        files = [str(p) for p in written]
        return pictures, files, _params(written[0]) if written else "", text, files

    @readable_errors
    def pick_adapter(self, adapter: str | None, lang: str):
        """The chosen adapter's run decides the base and the suggested tags."""
        if not adapter:
            return gr.skip(), gr.update(choices=[], value=[]), []
        run_dir = _adapter_path(self.studio, adapter).parent
        tags = suggested_tags(run_dir)
        try:
            run_base = str(read_yaml(run_dir / "config.yaml").get("base") or TINY)
        except UserError:
            run_base = TINY
        return run_base, gr.update(choices=tags, value=[]), tags

    @readable_errors
    def refresh_adapters(self, current: str | None = None):
        """Fresh choices; an adapter already chosen (e.g. sent from the Compare tab, maybe a per-epoch one) stays."""
        choices = adapter_choices(self.studio)
        try:
            kept = str(_adapter_path(self.studio, current)) if current else None
        except UserError:
            kept = None
        if kept and kept not in [value for _, value in choices]:
            choices.append((f"{Path(kept).parent.name} / {Path(kept).name}", kept))
        first = kept or (choices[0][1] if choices else None)
        return [gr.update(choices=choices, value=first)] + [gr.update(choices=choices) for _ in range(SLOTS - 1)]

    @readable_errors
    def select_image(self, event: gr.SelectData, pictures: list):
        """The clicked picture's generation parameters."""
        if event.index is None or event.index >= len(pictures):
            return gr.skip()
        return _params(Path(pictures[event.index]))


def _wire(w: GenerateWidgets, actions: GenerateActions, lang: gr.State) -> None:
    inputs = [w.prompt, w.negative, *w.slots, w.base, w.seed, w.steps, w.guidance, w.sampler, w.width, w.height,
              w.batch, lang]
    # one progress bar, on the gallery the pictures land in (not one per output)
    w.run.click(actions.generate, inputs, [w.gallery, w.files, w.params, w.message, w.shown], api_name="generate",
                concurrency_limit=1, show_progress_on=[w.gallery])
    w.adapters[0].change(actions.pick_adapter, [w.adapters[0], lang], [w.base, w.suggestions, w.offered],
                         api_visibility="private")
    w.suggestions.input(merge_suggestions, [w.prompt, w.suggestions, w.offered], [w.prompt], api_visibility="private")
    w.gallery.select(actions.select_image, [w.shown], [w.params], api_visibility="private")


def build(studio: Studio) -> Tab:
    w = _layout()
    actions = GenerateActions(studio)
    _wire(w, actions, studio.lang)
    return Tab(show=Step(actions.refresh_adapters, [w.adapters[0]], w.adapters),
               shared={"slot": [w.adapters[0], w.slots[1], w.prompt]})  # what the Compare tab fills in
