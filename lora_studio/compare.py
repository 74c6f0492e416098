"""`lora-studio compare outputs/<run>`: every saved adapter of a run against strengths and prompts, scored.

Rows are the base model (strength 0) and then each adapter in training order; columns are (prompt, strength)
pairs with one fixed seed per prompt, so a row differs from the next only by the adapter. The base is loaded once
and only the adapter is swapped per row (generate.apply_loras rescales an adapter already loaded). Writes
`compare/cells/*.png` (A1111 parameters in each), `compare/grid.png` and `compare/scores.json`.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from . import epoch_adapters
from .atomic import clean_stale, write_bytes_atomic, write_failure, write_text_atomic
from .config import TrainConfig, load_config
from .data import load_image, scan_dataset, tag_frequency
from .errors import UserError
from .scores import Candidate, load_scorer, prompt_following, prompt_for_clip, resolve_scorer, suggest
from .scores import likeness as mean_likeness
from .text import render as render_text

log = logging.getLogger(__name__)

STRENGTHS = (0.6, 0.8, 1.0)
COMPARE_DIR = "compare"
# Places a character dataset rarely shows: the first two whose words are not among the dataset's tags are added
# to the prompts, so overtraining (the training pictures' background whatever the prompt says) shows up.
NEW_PLACES = (
    ("beach", "standing on a beach at sunset, ocean, sky"),
    ("library", "sitting in a library, bookshelves, reading a book"),
    ("snow", "walking through a snowy forest, snow, trees"),
    ("city", "city street at night, neon lights, crowd"),
)


@dataclass
class CompareOptions:
    strengths: list[float] = field(default_factory=lambda: list(STRENGTHS))
    prompts: list[str] = field(default_factory=list)  # empty: the run's sample prompts + two new places
    seed: int | None = None  # None: the run's sample.seed (prompt i uses seed + i)
    steps: int | None = None  # None: the run's sample.steps
    scorer: str = "auto"  # auto: tiny for the offline test bases, real otherwise

    def validate(self) -> None:
        if not self.strengths:
            raise UserError("compare.no_strengths")
        for s in self.strengths:
            if not math.isfinite(s) or not -4 <= s <= 4:
                raise UserError("compare.strength_range", strength=s)
        if self.steps is not None and self.steps < 1:
            raise UserError("compare.steps_too_few", steps=self.steps)
        if any(not p.strip() for p in self.prompts):
            raise UserError("compare.empty_prompt")


@dataclass
class Column:
    prompt: str
    strength: float
    seed: int


@dataclass
class Row:
    label: str
    adapter: Path | None  # None: the base model
    epoch: int = 0
    step: int = 0
    final: bool = False


@dataclass
class Plan:
    cfg: TrainConfig
    rows: list[Row]
    columns: list[Column]
    references: list[Path]  # the run's training pictures


def parse_strengths(text: str | list) -> list[float]:
    """'0.6, 0.8,1' (the CLI, the studio's box) or a list of numbers -> strengths; a bad one is named."""
    parts = [p for p in (text.replace(";", ",").split(",") if isinstance(text, str) else text) if str(p).strip()]
    strengths = []
    for part in parts:
        try:
            strengths.append(float(part))
        except (TypeError, ValueError):
            raise UserError("compare.strength_not_number", value=repr(str(part).strip())) from None
    return strengths


def default_prompts(cfg: TrainConfig, tag_counts: dict[str, int]) -> list[str]:
    """The run's sample prompts (or the sample default) plus two places its pictures never show."""
    from .samples import default_sample_prompt

    prompts = list(cfg.sample.prompts) or [default_sample_prompt(cfg, tag_counts)]
    words = " ".join(tag_counts).lower()
    places = [text for word, text in NEW_PLACES if word not in words][:2]
    trigger = cfg.dataset.trigger_word
    return prompts + [f"{trigger}, {text}" if trigger else text for text in places]


def plan(run_dir: Path, options: CompareOptions) -> Plan:
    """What to render: the run's config, its adapters, the columns, and its training pictures (named errors)."""
    options.validate()
    run_dir = Path(run_dir)
    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise UserError("compare.not_run_folder", path=run_dir)
    cfg = load_config(config_path)
    adapters = epoch_adapters.all_adapters(run_dir, cfg.name)
    if not adapters:
        raise UserError("compare.no_adapter", name=run_dir.name)
    if not Path(cfg.dataset.path).is_dir():
        raise UserError("compare.dataset_gone", dataset=cfg.dataset.path, config=config_path)
    items = scan_dataset(cfg.dataset).items
    prompts = options.prompts or default_prompts(cfg, tag_frequency(items))
    seed = cfg.sample.seed if options.seed is None else options.seed
    columns = [Column(p, float(s), seed + i) for i, p in enumerate(prompts) for s in options.strengths]
    rows = [Row("base model (strength 0)", None)]
    rows += [Row(a.label, a.path, a.epoch, a.step, a.final) for a in adapters]
    return Plan(cfg, rows, columns, [item.path for item in items])


# ---------------------------------------------------------------- rendering


def _render_cell(pipe, plan_: Plan, row: Row, column: Column, steps: int | None):
    from .generate import GenerateConfig, generate_images

    s, cfg = plan_.cfg.sample, plan_.cfg
    # The base row loads no adapter ("path:0" is not loaded) and unloads the previous row's.
    first = next(r.adapter for r in plan_.rows if r.adapter is not None)
    lora = f"{row.adapter}:{column.strength:g}" if row.adapter else f"{first}:0"
    gen = GenerateConfig(base=cfg.base, loras=[lora], prompt=column.prompt, negative_prompt=s.negative_prompt,
                         steps=steps or s.steps, guidance_scale=s.guidance_scale, sampler=s.sampler, seed=column.seed,
                         width=None, height=None, batch_size=1)  # the base's own size, as people generate
    ((image, params),) = generate_images(pipe, gen)
    return image, params


def render(pipe, plan_: Plan, out_dir: Path, steps: int | None = None,
           on_cell: Callable[[int, int, Path], None] | None = None) -> list[list[Path]]:
    """Every cell as compare/cells/rRR-cCC.png; the base row renders each prompt once (its strength is 0)."""
    from .png_info import png_bytes

    cells_dir = out_dir / "cells"
    shutil.rmtree(cells_dir, ignore_errors=True)  # an earlier comparison's cells must not mix in
    grid: list[list[Path]] = []
    for r, row in enumerate(plan_.rows):
        paths: list[Path] = []
        for c, column in enumerate(plan_.columns):
            path = cells_dir / f"r{r:02d}-c{c:02d}.png"
            same = _same_base_cell(plan_, r, c)
            if same is not None:
                data = paths[same].read_bytes()
            else:
                image, params = _render_cell(pipe, plan_, row, column, steps)
                data = png_bytes(image, params)
            try:
                write_bytes_atomic(path, data)
            except OSError as e:
                raise UserError("io.failure", failure=write_failure(e, "io.what_comparison_picture", path)) from None
            paths.append(path)
            if on_cell:
                on_cell(r, c, path)
        grid.append(paths)
    return grid


def _same_base_cell(plan_: Plan, r: int, c: int) -> int | None:
    """For the base row: an earlier column with the same prompt and seed (the picture is the same)."""
    if plan_.rows[r].adapter is not None:
        return None
    col = plan_.columns[c]
    for earlier in range(c):
        other = plan_.columns[earlier]
        if (other.prompt, other.seed) == (col.prompt, col.seed):
            return earlier
    return None


# ---------------------------------------------------------------- scoring


@torch.no_grad()
def score(plan_: Plan, grid: list[list[Path]], scorer_kind: str) -> dict:
    """Per cell DINO likeness, CLIP-I and CLIP-T; per row and per (adapter, strength) their means; the suggestion."""
    from PIL import Image

    scorer = load_scorer(scorer_kind)
    ref_dino, ref_clip = scorer.image_embeddings([load_image(p) for p in plan_.references])
    flat = [p for row in grid for p in row]
    images = []
    for p in flat:
        with Image.open(p) as im:
            images.append(im.convert("RGB"))
    dino, clip = scorer.image_embeddings(images)
    texts = scorer.text_embeddings([prompt_for_clip(c.prompt, plan_.cfg.dataset.trigger_word) or " "
                                    for _ in grid for c in plan_.columns])
    cells = {"dino": mean_likeness(dino, ref_dino), "clip_i": mean_likeness(clip, ref_clip),
             "clip_t": prompt_following(clip, texts)}
    n = len(plan_.columns)
    rows = []
    for r, row in enumerate(plan_.rows):
        values = [{k: round(float(v[r * n + c]), 4) for k, v in cells.items()} for c in range(n)]
        rows.append({**_row_facts(row), "cells": [{**v, "image": str(grid[r][c].name)} for c, v in enumerate(values)],
                     **{k: _mean(v[k] for v in values) for k in cells}})
    base_clip_t = rows[0]["clip_t"]
    candidates = []
    for r, row in enumerate(plan_.rows[1:], start=1):
        for strength in dict.fromkeys(c.strength for c in plan_.columns):
            picked = [rows[r]["cells"][c] for c, col in enumerate(plan_.columns) if col.strength == strength]
            candidates.append(Candidate(f"{row.label} at strength {strength:g}", _mean(v["dino"] for v in picked),
                                        _mean(v["clip_t"] for v in picked), row.step, r, strength))
    suggestion = suggest(candidates, base_clip_t)
    chosen = suggestion.candidate
    return {
        "scorer": scorer_kind, "meaningless": scorer.meaningless, "margin": suggestion.margin,
        "base_clip_t": base_clip_t, "rows": rows,
        "candidates": [{"label": c.label, "row": c.row, "strength": c.strength, "likeness": c.likeness,
                        "clip_t": c.clip_t} for c in candidates],
        "suggestion": None if chosen is None else {
            "row": chosen.row, "adapter": str(plan_.rows[chosen.row].adapter), "strength": chosen.strength,
            "label": chosen.label, "within_margin": suggestion.within_margin, "line": suggestion.line()},
    }


def _row_facts(row: Row) -> dict:
    return {"label": row.label, "adapter": str(row.adapter) if row.adapter else None, "epoch": row.epoch,
            "step": row.step, "final": row.final}


def _mean(values) -> float:
    values = list(values)
    return round(sum(values) / len(values), 4)


# ---------------------------------------------------------------- the whole comparison


@dataclass
class CompareResult:
    out_dir: Path
    grid: Path
    scores: dict
    cells: list[list[Path]]

    @property
    def suggestion_line(self) -> str:
        s = self.scores.get("suggestion")
        return s["line"] if s else "no adapter to suggest"


def compare(run_dir: Path, options: CompareOptions | None = None, pipe=None,
            on_cell: Callable[[int, int, Path], None] | None = None) -> CompareResult:
    """Render, score, draw the grid and write scores.json for one run folder."""
    from .compare_grid import draw_grid
    from .generate import get_pipeline

    options = options or CompareOptions()
    run_dir = Path(run_dir).resolve()
    plan_ = plan(run_dir, options)
    scorer_kind = resolve_scorer(options.scorer, plan_.cfg.base)
    out_dir = run_dir / COMPARE_DIR
    clean_stale(out_dir, ("grid.png", "scores.json"))  # what a killed comparison may have left half-written
    pipe = pipe if pipe is not None else get_pipeline(plan_.cfg.base, plan_.cfg.allow_pickle)
    grid = render(pipe, plan_, out_dir, options.steps, on_cell)
    scores = score(plan_, grid, scorer_kind)
    scores["columns"] = [asdict(c) for c in plan_.columns]
    grid_path = out_dir / "grid.png"
    try:
        write_bytes_atomic(grid_path, draw_grid(plan_, grid, scores))
        write_text_atomic(out_dir / "scores.json", _json(scores))
    except OSError as e:
        raise UserError("io.failure", failure=write_failure(e, "io.what_comparison", out_dir)) from None
    return CompareResult(out_dir, grid_path, scores, grid)


def _json(data: dict) -> str:
    import json

    return json.dumps(data, indent=1, ensure_ascii=False)


# ---------------------------------------------------------------- what a person reads (the studio and the CLI)


def row_label(row: dict, lang: str) -> str:
    """A row of scores.json as a person names it: 'epoch 2 · step 8 (final)', or the base model."""
    if row.get("adapter") is None:
        return render_text("cmp_base_row", lang)
    label = render_text("cmp_row", lang, epoch=row["epoch"], step=row["step"])
    return label + (f" ({render_text('cmp_final', lang)})" if row.get("final") else "")


def suggestion_text(scores: dict, lang: str, note: bool = True) -> str:
    """The suggestion of scores.json in `lang` (Markdown), with the tiny scorer's note when `note`."""
    s = scores.get("suggestion")
    if not s:
        return render_text("cmp_no_suggestion", lang)
    row = scores["rows"][s["row"]]
    pick = render_text("cmp_pick", lang, row=row_label(row, lang), strength=f"{s['strength']:g}")
    c = next(c for c in scores["candidates"] if c["row"] == s["row"] and c["strength"] == s["strength"])
    values = dict(pick=pick, dino=f"{c['likeness']:.3f}", clip_t=f"{c['clip_t']:.3f}",
                  base=f"{scores['base_clip_t']:.3f}", margin=scores["margin"])
    text = "★ " + render_text("cmp_suggest" if s["within_margin"] else "cmp_suggest_worn", lang, **values)
    if note and scores.get("meaningless"):
        text += f"\n\nℹ️ {render_text('cmp_meaningless', lang)}"
    return text
