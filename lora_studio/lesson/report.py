"""What the learner sees on disk: metrics.jsonl, curves.png, predictions.png, result.json (all written atomically).

Figures are drawn on matplotlib's Agg canvas directly (no pyplot), so nothing global changes and no window opens.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..atomic import atomic_path, write_text_atomic
from .lines import line

METRICS_FILE = "metrics.jsonl"
CURVES_FILE = "curves.png"
PREDICTIONS_FILE = "predictions.png"
RESULT_FILE = "result.json"


def write_metrics(run_dir: Path, records: list[dict]) -> Path:
    path = Path(run_dir) / METRICS_FILE
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def write_result(run_dir: Path, result: dict) -> Path:
    path = Path(run_dir) / RESULT_FILE
    write_text_atomic(path, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path


def _save_figure(fig, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return path


# Fonts with Japanese glyphs, best first; matplotlib's default (DejaVu) draws Japanese as empty boxes.
CJK_FONTS = ("Noto Sans CJK JP", "Noto Sans JP", "Source Han Sans JP", "IPAexGothic", "IPAGothic", "IPAPGothic",
             "TakaoGothic", "VL Gothic", "Noto Sans CJK SC", "WenQuanYi Zen Hei")
CJK_FILE_HINTS = ("notosanscjk", "notosansjp", "sourcehansans", "ipaexg", "ipag", "ipapg", "takao", "vl-gothic",
                  "wqy-zenhei")
_cjk_font: list[str | None] = []


def cjk_font() -> str | None:
    """The file of an installed font that can draw Japanese, or None (looked up once)."""
    if not _cjk_font:
        from matplotlib import font_manager

        known = {f.name: f.fname for f in font_manager.fontManager.ttflist}
        found = next((known[name] for name in CJK_FONTS if name in known), None)
        if found is None:  # installed after matplotlib cached its font list
            found = next((path for path in sorted(font_manager.findSystemFonts())
                          if any(hint in Path(path).name.lower() for hint in CJK_FILE_HINTS)), None)
        _cjk_font.append(found)
    return _cjk_font[0]


def figure_language(lang: str) -> tuple[str, dict]:
    """The language the figures can be labelled in and the matplotlib text options for it: Japanese needs a
    Japanese font; without one the labels stay English rather than become empty boxes."""
    if lang == "ja" and (font := cjk_font()):
        from matplotlib.font_manager import FontProperties

        return "ja", {"fontproperties": FontProperties(fname=font)}
    return "en", {}


def _sized(font: dict, size: str) -> dict:
    if not font:
        return {}
    props = font["fontproperties"].copy()
    props.set_size(size)
    return {"fontproperties": props}


def curves_figure(history: list[dict], finetune_start: int | None, lang: str = "en"):
    """Accuracy and loss per epoch, training vs validation, with a line where fine-tuning starts.

    `history` holds the per-epoch records of metrics.jsonl; `finetune_start` is the first phase-2 epoch.
    """
    from matplotlib.figure import Figure

    lang, font = figure_language(lang)
    epochs = [r["epoch"] for r in history]
    fig = Figure(figsize=(8, 8))
    for row, metric in enumerate(("accuracy", "loss")):
        ax = fig.add_subplot(2, 1, row + 1)
        ax.plot(epochs, [r[f"train_{metric}"] for r in history], "o-", label=line(f"fig_train_{metric}", lang))
        ax.plot(epochs, [r[f"val_{metric}"] for r in history], "o-", label=line(f"fig_val_{metric}", lang))
        if finetune_start is not None:
            ax.axvline(finetune_start - 0.5, color="green", linestyle="--", label=line("fig_finetune", lang))
        ax.set_title(line(f"fig_{metric}_title", lang), **_sized(font, "large"))  # matplotlib's title size
        ax.set_ylabel(line(f"fig_{metric}", lang), **font)
        if metric == "accuracy":
            low = min([r["train_accuracy"] for r in history] + [r["val_accuracy"] for r in history])
            ax.set_ylim(min(0.5, low) - 0.02, 1.01)
        ax.legend(loc="lower right" if metric == "accuracy" else "upper right", prop=font.get("fontproperties"))
        ax.grid(alpha=0.3)
    ax.set_xlabel(line("fig_epoch", lang), **font)
    fig.tight_layout()
    return fig


def plot_curves(history: list[dict], finetune_start: int | None, path: Path, lang: str = "en") -> Path:
    return _save_figure(curves_figure(history, finetune_start, lang), Path(path))


def predictions_figure(images: torch.Tensor, true_labels: list[str], predictions: list[tuple[str, float]],
                       lang: str = "en"):
    """A 3 x 3 grid of test images titled with the predicted label and probability (red when wrong)."""
    from matplotlib.figure import Figure

    lang, font = figure_language(lang)
    fig = Figure(figsize=(8, 8.6))
    for i in range(min(9, len(images))):
        ax = fig.add_subplot(3, 3, i + 1)
        ax.imshow(images[i].permute(1, 2, 0).cpu().numpy())
        label, prob = predictions[i]
        right = label == true_labels[i]
        ax.set_title(f"{label} {prob:.0%}" + ("" if right else "\n" + line("fig_is", lang, label=true_labels[i])),
                     color="black" if right else "red", fontsize=11, **font)
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_predictions(images: torch.Tensor, true_labels: list[str], predictions: list[tuple[str, float]],
                     path: Path, lang: str = "en") -> Path:
    return _save_figure(predictions_figure(images, true_labels, predictions, lang), Path(path))
