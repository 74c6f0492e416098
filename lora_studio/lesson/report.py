"""What the learner sees on disk: metrics.jsonl, curves.png, predictions.png, result.json (all written atomically).

Figures are drawn on matplotlib's Agg canvas directly (no pyplot), so nothing global changes and no window opens.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..atomic import atomic_path, write_text_atomic

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


def plot_curves(history: list[dict], finetune_start: int | None, path: Path) -> Path:
    """Accuracy and loss per epoch, training vs validation, with a line where fine-tuning starts.

    `history` holds the per-epoch records of metrics.jsonl; `finetune_start` is the first phase-2 epoch.
    """
    from matplotlib.figure import Figure

    epochs = [r["epoch"] for r in history]
    fig = Figure(figsize=(8, 8))
    for row, (metric, title) in enumerate((("accuracy", "Accuracy"), ("loss", "Cross-entropy loss"))):
        ax = fig.add_subplot(2, 1, row + 1)
        ax.plot(epochs, [r[f"train_{metric}"] for r in history], "o-", label=f"Training {metric}")
        ax.plot(epochs, [r[f"val_{metric}"] for r in history], "o-", label=f"Validation {metric}")
        if finetune_start is not None:
            ax.axvline(finetune_start - 0.5, color="green", linestyle="--", label="Start fine-tuning")
        ax.set_title(f"Training and validation {metric}")
        ax.set_ylabel(title)
        if metric == "accuracy":
            low = min([r["train_accuracy"] for r in history] + [r["val_accuracy"] for r in history])
            ax.set_ylim(min(0.5, low) - 0.02, 1.01)
        ax.legend(loc="lower right" if metric == "accuracy" else "upper right")
        ax.grid(alpha=0.3)
    ax.set_xlabel("epoch")
    fig.tight_layout()
    return _save_figure(fig, Path(path))


def plot_predictions(images: torch.Tensor, true_labels: list[str], predictions: list[tuple[str, float]],
                     path: Path) -> Path:
    """A 3 x 3 grid of test images titled with the predicted label and probability (red when wrong)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 8.6))
    for i in range(min(9, len(images))):
        ax = fig.add_subplot(3, 3, i + 1)
        ax.imshow(images[i].permute(1, 2, 0).cpu().numpy())
        label, prob = predictions[i]
        right = label == true_labels[i]
        ax.set_title(f"{label} {prob:.0%}" + ("" if right else f"\n(is {true_labels[i]})"),
                     color="black" if right else "red", fontsize=11)
        ax.axis("off")
    fig.tight_layout()
    return _save_figure(fig, Path(path))
