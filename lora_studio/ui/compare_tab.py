"""Compare tab: pick a finished or stopped run, render its adapters x strengths x prompts (compare.py), watch the
grid fill in, read the scores under each picture and the suggested adapter, and send a picture's adapter and
strength to the Generate tab. One comparison runs at a time (it shares the GPU and the pipeline with Generate)."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from ..compare import (
    CompareOptions,
    CompareResult,
    Plan,
    compare,
    parse_strengths,
    plan,
    row_label,
    suggestion_text,
)
from ..epoch_adapters import all_adapters
from ..errors import UserError
from ..jobs import FINAL_STATES
from .common import Step, Studio, Tab, readable_errors
from .i18n import I18N, StudioError, tr

_busy = threading.Lock()  # one comparison at a time, from the page or the API


def comparable_runs(studio: Studio) -> list[str]:
    """Runs that are not training now and have at least one adapter, newest first."""
    names = []
    for run in studio.jobs.list_runs():
        if run.state in FINAL_STATES and not run.alive and _adapters_of(run.run_dir):
            names.append(run.name)
    return names


def _adapters_of(run_dir: Path) -> list:
    from ..config import load_config

    try:
        return all_adapters(run_dir, load_config(run_dir / "config.yaml").name)
    except UserError:
        return []


def _run_dir(studio: Studio, run: str) -> Path:
    if not run:
        raise StudioError("cmp_pick_run")
    status = studio.jobs.status(run)  # a name under outputs/, else "not found"
    if status.alive or status.state not in FINAL_STATES:
        raise StudioError("cmp_still_training", name=status.name)
    return status.run_dir


def _options(strengths: Any, prompts: Any, scorer: str) -> CompareOptions:
    lines = prompts.splitlines() if isinstance(prompts, str) else list(prompts or [])
    return CompareOptions(strengths=parse_strengths(strengths if strengths not in (None, "") else "0.6,0.8,1.0"),
                          prompts=[p.strip() for p in lines if p.strip()], scorer=scorer or "auto")


def start(studio: Studio, run: str, options: CompareOptions, on_cell=None) -> CompareResult:
    """Run one comparison (blocking); StudioError 'busy' when another one is running."""
    run_dir = _run_dir(studio, run)
    # The run's mistakes (no adapter, dataset gone, bad strength) before taking the lock.
    if plan(run_dir, options).cfg.allow_pickle:  # a browser never loads a base that can run code
        raise StudioError("tr_no_pickle")
    if not _busy.acquire(blocking=False):
        raise StudioError("cmp_busy")
    try:
        return compare(run_dir, options, on_cell=on_cell)
    finally:
        _busy.release()


# ---------------------------------------------------------------- what the page shows


def caption(row: dict, column: dict, lang: str, cell: dict | None = None, suggested: bool = False) -> str:
    text = row_label(row, lang)
    if row.get("adapter") is not None:  # the base row is the same picture at every strength
        text += " · " + tr(lang, "cmp_strength", strength=f"{column['strength']:g}")
    text += f" · {column['prompt']}"
    if cell:  # the scores first: a long caption is cut off at the picture's edge
        text = f"DINO {cell['dino']:.3f} · CLIP-T {cell['clip_t']:.3f} · {text}"
    return ("★ " + text) if suggested else text


def score_table(scores: dict, lang: str) -> pd.DataFrame:
    columns = [tr(lang, k) for k in ("cmp_col_adapter", "cmp_col_strength", "cmp_col_likeness", "cmp_col_clip_t")]
    rows = [[row_label(scores["rows"][c["row"]], lang), c["strength"], c["likeness"], c["clip_t"]]
            for c in scores["candidates"]]
    base = scores["rows"][0]
    return pd.DataFrame([[row_label(base, lang), 0, base["dino"], base["clip_t"]], *rows], columns=columns)


def gallery_of(result_cells: list[list[Path]], scores: dict, lang: str) -> tuple[list, list]:
    """(gallery items with scores in the captions, what each item sends to Generate)."""
    items, picks = [], []
    chosen = scores.get("suggestion") or {}
    for r, row in enumerate(scores["rows"]):
        for c, column in enumerate(scores["columns"]):
            marked = chosen.get("row") == r and chosen.get("strength") == column["strength"]
            items.append((str(result_cells[r][c]), caption(row, column, lang, row["cells"][c], marked)))
            picks.append({"adapter": row["adapter"], "strength": column["strength"] if row["adapter"] else 0.0,
                          "prompt": column["prompt"]})
    return items, picks


# ---------------------------------------------------------------- the tab


@dataclass
class CompareWidgets:
    """The Compare tab's components."""

    run: gr.Dropdown
    strengths: gr.Textbox
    scorer: gr.Radio
    prompts: gr.Textbox
    start: gr.Button
    progress: gr.Markdown
    suggestion: gr.Markdown
    gallery: gr.Gallery
    grid_image: gr.Image
    picked_md: gr.Markdown
    send: gr.Button
    table: gr.Dataframe
    files: gr.File
    picks: gr.State  # what each gallery picture sends to Generate
    picked: gr.State  # the clicked picture's pick, for the Send button (app.py)


def _layout() -> CompareWidgets:
    gr.Markdown(I18N("cmp_intro"))
    with gr.Row():
        run = gr.Dropdown([], label=I18N("cmp_run"), info=I18N("cmp_run_info"), elem_id="cmp-run", scale=2)
        strengths = gr.Textbox("0.6, 0.8, 1.0", label=I18N("cmp_strengths"), info=I18N("cmp_strengths_info"),
                               elem_id="cmp-strengths", scale=1)
        scorer = gr.Radio([(I18N("cmp_scorer_auto"), "auto"), (I18N("cmp_scorer_real"), "real"),
                           (I18N("cmp_scorer_tiny"), "tiny")], value="auto", label=I18N("cmp_scorer"),
                          info=I18N("cmp_scorer_info"), elem_id="cmp-scorer", scale=2)
    prompts = gr.Textbox("", lines=3, label=I18N("cmp_prompts"), info=I18N("cmp_prompts_info"), elem_id="cmp-prompts")
    start_btn = gr.Button(I18N("cmp_start"), variant="primary", elem_id="cmp-start")
    progress = gr.Markdown(elem_id="cmp-progress")
    suggestion = gr.Markdown(elem_id="cmp-suggestion")
    gallery = gr.Gallery(label=I18N("cmp_gallery"), columns=3, height="auto", object_fit="contain", fit_columns=False,
                         allow_preview=True, elem_id="cmp-gallery")
    grid_image = gr.Image(label=I18N("cmp_grid"), type="filepath", interactive=False, elem_id="cmp-grid")
    with gr.Row():
        picked_md = gr.Markdown(I18N("cmp_pick_a_picture"), elem_id="cmp-picked")
        send = gr.Button(I18N("cmp_send"), elem_id="cmp-send", scale=0, min_width=220)
    table = gr.Dataframe(interactive=False, label=I18N("cmp_table"), elem_id="cmp-table")
    files = gr.File(label=I18N("cmp_files"), file_count="multiple", interactive=False, elem_id="cmp-files")
    return CompareWidgets(run=run, strengths=strengths, scorer=scorer, prompts=prompts, start=start_btn,
                          progress=progress, suggestion=suggestion, gallery=gallery, grid_image=grid_image,
                          picked_md=picked_md, send=send, table=table, files=files, picks=gr.State([]),
                          picked=gr.State(None))


class CompareActions:
    """What the server does for the Compare tab: list the runs, render and score a comparison, pick a picture."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    @readable_errors
    def refresh(self, chosen: str | None):
        """Fresh choices; the run already chosen stays while it can be compared."""
        names = comparable_runs(self.studio)
        return gr.update(choices=names, value=chosen if chosen in names else (names[0] if names else None))

    @readable_errors
    def run_compare(self, run: str, strengths: str, prompts: str, scorer: str, lang: str):
        """A generator: the gallery fills in picture by picture, then the scores and the suggestion."""
        options = _options(strengths, prompts, scorer)
        p = plan(_run_dir(self.studio, run), options)
        total = len(p.rows) * len(p.columns)
        events = self._start_in_thread(run, options)
        shown: list = []
        yield (tr(lang, "cmp_rendering", done=0, total=total), "", gr.update(value=[], columns=len(p.columns)), [],
               None, None, None, None)
        while True:
            kind, *rest = events.get()
            if kind == "error":
                raise rest[0]
            if kind == "cell":
                shown.append((str(rest[2]), _cell_caption(p, rest[0], rest[1], lang)))
                text = tr(lang, "cmp_rendering", done=len(shown), total=total)
                if len(shown) == total:
                    text = tr(lang, "cmp_scoring")
                yield text, gr.skip(), shown, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
                continue
            result: CompareResult = rest[0]
            items, item_picks = gallery_of(result.cells, result.scores, lang)
            done = tr(lang, "cmp_done", grid=result.grid)
            yield (done, suggestion_text(result.scores, lang), items, item_picks, score_table(result.scores, lang),
                   [str(result.grid), str(result.out_dir / "scores.json")], None, str(result.grid))
            return

    def _start_in_thread(self, run: str, options: CompareOptions) -> queue.Queue:
        """Start the comparison on a thread; its events arrive on the queue: ("cell", row, column, path) for
        each picture, then ("done", result) or ("error", exception)."""
        events: queue.Queue = queue.Queue()

        def work():
            try:
                events.put(("done", start(self.studio, run, options, on_cell=lambda r, c, path: events.put(
                    ("cell", r, c, path)))))
            except BaseException as e:  # handed to the page, which shows it
                events.put(("error", e))

        threading.Thread(target=work, daemon=True).start()
        return events

    def pick(self, event: gr.SelectData, picks: list, lang: str):
        if event.index is None or event.index >= len(picks):
            return gr.skip(), None
        chosen = picks[event.index]
        if not chosen["adapter"]:
            return tr(lang, "cmp_picked_base"), None
        return tr(lang, "cmp_picked", adapter=Path(chosen["adapter"]).name, strength=f"{chosen['strength']:g}"), chosen

    @readable_errors
    def compare_adapters(self, run: str, strengths: str = "0.6, 0.8, 1.0", prompts: list[str] | None = None,
                         scorer: str = "auto") -> dict:
        """Render every saved adapter of `run` (rows, the base model at strength 0 first) at `strengths` (comma-
        separated) and `prompts` (columns; empty: the run's sample prompts plus two new places), score likeness
        (DINO), CLIP-I and prompt following (CLIP-T), and suggest an adapter. Returns the grid and scores.json
        paths, the scores, the suggestion line and every picture's path."""
        result = start(self.studio, run, _options(strengths, prompts or [], scorer))
        return {"grid": str(result.grid), "scores_file": str(result.out_dir / "scores.json"),
                "suggestion": result.suggestion_line, "scores": result.scores,
                "pictures": [[str(p) for p in row] for row in result.cells]}


def _cell_caption(p: Plan, r: int, c: int, lang: str) -> str:
    """A picture's caption while the grid fills in (no scores yet)."""
    row, column = p.rows[r], p.columns[c]
    row_dict = {"adapter": row.adapter, "epoch": row.epoch, "step": row.step, "final": row.final}
    return caption(row_dict, {"prompt": column.prompt, "strength": column.strength}, lang)


def _wire(w: CompareWidgets, actions: CompareActions, lang: gr.State) -> None:
    outputs = [w.progress, w.suggestion, w.gallery, w.picks, w.table, w.files, w.picked, w.grid_image]
    w.start.click(actions.run_compare, [w.run, w.strengths, w.prompts, w.scorer, lang], outputs,
                  api_visibility="private", concurrency_limit=1)
    w.gallery.select(actions.pick, [w.picks, lang], [w.picked_md, w.picked], api_visibility="private")
    # For scripts: the same comparison, blocking, with the scores as data (the page's button streams instead).
    gr.api(actions.compare_adapters, api_name="compare_adapters")


def build(studio: Studio) -> Tab:
    w = _layout()
    actions = CompareActions(studio)
    _wire(w, actions, studio.lang)
    return Tab(show=Step(actions.refresh, [w.run], [w.run]), shared={"send": w.send, "picked": w.picked})


@readable_errors
def send_to_generate(chosen: dict | None, lang: str) -> tuple[str, float, str]:
    """The picked picture's adapter, strength and prompt, for the Generate tab's first slot."""
    if not chosen:
        raise StudioError("cmp_pick_first")
    return chosen["adapter"], float(chosen["strength"]), chosen["prompt"]
