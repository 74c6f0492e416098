"""How the Train tab shows a run, in the page's language: the progress line, the state message, the loss curve,
the samples, the log's last lines and the table of runs. Everything is read from the run folder (jobs.py)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gradio as gr
import pandas as pd

from ..config import read_yaml
from ..errors import UserError
from ..jobs import RunStatus
from .common import Plot, Studio
from .i18n import say, tr

LOG_LINES = 40
# The trainer's last log line names the samples folder even when no sample was made (sample.every_n_steps 0 and
# a run stopped early); the page must not point at pictures that do not exist.
_SAMPLES_CLAIM = re.compile(r" \(samples in [^)\n]*\)")
# The trainer's advice is for the command line; the studio says which button to press instead.
_TRY_GENERATE = re.compile(r"try it: lora-studio generate ")
_RESUME_ADVICE = re.compile(r"(then )?resume with train\.resume=latest")

# Runs in the browser after each log update: gradio's own autoscroll only follows a textarea that was already at
# its end, and a timer-filled log starts at the top. It stays where the person scrolled up to, until they return.
SCROLL_LOG_JS = """
() => {
  setTimeout(() => {  // after gradio has resized the textarea for its new value
    const box = document.querySelector('#tr-log textarea');
    if (!box) return;
    if (!box.dataset.followEnd) {
      box.dataset.followEnd = 'yes';
      box.addEventListener('scroll', () => {
        box.dataset.followEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 8 ? 'yes' : 'no';
      });
    }
    if (box.dataset.followEnd === 'yes') box.scrollTop = box.scrollHeight;
  }, 100);
}
"""


def progress_html(status: RunStatus, lang: str) -> str:
    pct = round(status.progress * 100)
    last = status.metrics[-1] if status.metrics else {}
    parts = [f"<b>{html.escape(tr(lang, 'state_' + status.state))}</b>",
             tr(lang, "st_step", step=status.step, total=status.total_steps or "?")]
    if "loss" in last:
        parts.append(tr(lang, "st_loss", loss=f"{last['loss']:.4f}"))
    if last.get("images_per_s"):
        parts.append(f"{last['images_per_s']:.2f} img/s")
    return (f'<div class="ls-progress" data-state="{status.state}"><div class="ls-bar" style="width:{pct}%"></div>'
            f'</div><div class="ls-progress-text">{html.escape(status.name)} · ' + " · ".join(parts) + "</div>")


def _sample_every(status: RunStatus) -> Any:
    try:
        return (read_yaml(status.run_dir / "config.yaml").get("sample") or {}).get("every_n_steps", 0)
    except UserError:
        return "?"


def state_message(status: RunStatus, lang: str) -> str:
    """What happened, said for the studio (a button to press, not a command-line setting)."""
    if status.state == "failed":
        return f"❌ {tr(lang, 'st_failed', detail=status.message)}"
    if status.state == "finished" and status.adapter:
        message = f"✅ {tr(lang, 'st_finished', adapter=status.adapter.name)}"
    elif status.state == "stopped":
        message = (tr(lang, "st_stopped", step=status.step, adapter=status.adapter.name) if status.adapter
                   else tr(lang, "st_stopped_plain", step=status.step))
    else:
        return say(lang, status.message) if status.message else ""
    if not status.samples:
        message += f"\n\n{tr(lang, 'st_no_samples', every=_sample_every(status))}"
    return message


def log_text(status: RunStatus, lang: str = "en") -> str:
    """The trainer's log, with its command-line advice said for the studio; for a run trained from the command
    line (no train.log), the loss lines and the state that its metrics.jsonl and status.json hold."""
    if not status.log_tail:
        return _log_from_files(status, lang)
    text = status.log_tail if status.samples else _SAMPLES_CLAIM.sub("", status.log_tail)
    lines = []
    for line in text.splitlines():
        if line.startswith("$ "):  # the accelerate command the studio ran: nothing a studio user types
            continue
        if _TRY_GENERATE.search(line):
            lines.append(tr(lang, "log_open_generate"))
            continue
        lines.append(_RESUME_ADVICE.sub(tr(lang, "log_press_resume"), line))
    return "\n".join(lines)


def _log_from_files(status: RunStatus, lang: str) -> str:
    rows = [m for m in status.metrics if "step" in m and "loss" in m][-LOG_LINES:]
    lines = [tr(lang, "log_no_file", name=status.name)] if rows or status.state != "none" else []
    total = status.total_steps or "?"
    lines += [tr(lang, "st_step", step=m["step"], total=total) + " · " + tr(lang, "st_loss", loss=f"{m['loss']:.4f}")
              for m in rows]
    if status.state != "none":
        lines.append(state_message(status, lang) or f"{tr(lang, 'state_' + status.state)}: {say(lang, status.message)}")
    return "\n".join(lines)


def loss_plot(status: RunStatus) -> pd.DataFrame | None:
    rows = [(m["step"], m["loss"]) for m in status.metrics if "step" in m and "loss" in m]
    return pd.DataFrame(rows, columns=["step", "loss"]) if rows else None


def plot_titles(lang: str, plots: list[Plot]) -> list[gr.LinePlot]:
    """Titles in `lang` for each chart (its title's and axis titles' text keys); set when the language is chosen,
    so the plots' values (also what the API returns) stay plain tables."""
    return [gr.LinePlot(x_title=tr(lang, x), y_title=tr(lang, y), **({"title": tr(lang, t)} if t else {}))
            for _, t, x, y in plots]


_SAMPLE_NAME = re.compile(r"^step(\d+)_(\d+)$")  # samples/step000400_1.png: step 400, the second prompt


def sample_grid(status: RunStatus, lang: str) -> Any:
    """The samples as a grid: one row per sampled step (labelled with its epoch), one column per prompt, so a
    prompt's pictures line up down a column and overtraining shows while it happens."""
    found = sorted((int(m.group(1)), int(m.group(2)), p) for p in status.samples
                   if (m := _SAMPLE_NAME.match(p.stem)))
    epochs = sorted((int(m["step"]), int(m["epoch"])) for m in status.metrics if "step" in m and "epoch" in m)

    def epoch_at(step: int) -> Any:
        before = [e for s, e in epochs if s <= step]
        return before[-1] if before else "?"

    items = [(str(p), tr(lang, "st_sample_caption", epoch=epoch_at(step), step=step, prompt=index + 1))
             for step, index, p in found]
    columns = max((index for _, index, _ in found), default=0) + 1
    # One prompt: its epochs run along a row instead of one huge picture per line.
    return gr.update(value=items, columns=columns if columns > 1 else 6)


def render(status: RunStatus | None, lang: str) -> tuple:
    """(progress, state message, loss plot, samples, log) for one run, or for no run yet."""
    if status is None:
        return "", tr(lang, "st_none"), None, [], ""
    return (progress_html(status, lang), state_message(status, lang), loss_plot(status), sample_grid(status, lang),
            log_text(status, lang))


def adapters_html(files: list[str], lang: str) -> str:
    """Download links for the finished runs' adapters. Not a gr.File: with two files or more it draws an "x"
    beside each that only hides the file from the list (nothing is deleted, and it never comes back)."""
    if not files:
        return ""
    items = []
    for file in files:
        path = Path(file)
        size = f"{path.stat().st_size / 1024:.1f} KiB" if path.is_file() else "?"
        items.append(f'<li><a href="gradio_api/file={quote(str(path))}" download="{html.escape(path.name)}">'
                     f"{html.escape(path.parent.name)} / {html.escape(path.name)}</a> · {size}</li>")
    return f"<b>{html.escape(tr(lang, 'tr_adapters'))}</b><ul>{''.join(items)}</ul>"


def runs_table(studio: Studio, lang: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The runs (with translated headers and states), their names, and their adapter files."""
    runs = studio.jobs.list_runs()
    rows = [[r.name, tr(lang, "state_" + r.state), f"{r.step}/{r.total_steps}", r.adapter.name if r.adapter else ""]
            for r in runs]
    columns = [tr(lang, key) for key in ("col_run", "col_state", "col_step", "col_adapter")]
    return pd.DataFrame(rows, columns=columns), [r.name for r in runs], [str(r.adapter) for r in runs if r.adapter]
