"""`lora-studio lesson` and `lora-studio lesson-predict`: print the lesson's events and explanations for a terminal."""

from __future__ import annotations

import sys
import textwrap

from ..config import load_config
from ..errors import UserError
from .config import LessonConfig
from .model import TINY
from .texts import explain, explain_stage


class ConsoleReport:
    """Turns `run_lesson` events into explanations, progress bars and one line per epoch."""

    def __init__(self, config: LessonConfig, out=None) -> None:
        self.config, self.lang = config, config.language
        self.out = out or sys.stdout
        self.bar = None

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def paragraphs(self, texts: list[str]) -> None:
        for text in texts:
            # Japanese has no spaces to break at: leave its wrapping to the terminal.
            self.say(textwrap.fill(text, width=100, break_on_hyphens=False) if self.lang == "en" else text)
            self.say()

    def _bar(self, total: int | None, desc: str, unit: str = "it", scale: bool = False) -> None:
        from tqdm.auto import tqdm

        self._close_bar()
        self.bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=scale, leave=False, file=sys.stderr)

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __call__(self, event: dict) -> None:
        kind = event["type"]
        if kind == "stage":
            self._close_bar()
            stage = event["stage"]
            self.say(f"== {stage} ==")
            self.paragraphs(explain_stage(stage, self.lang))
            if stage == "model" and self.config.base == TINY:
                self.paragraphs([explain("tiny", self.lang)])
        elif kind == "download":
            if self.bar is None:
                self.paragraphs([explain("download", self.lang)])
                self._bar(event["total"], "download", "B", scale=True)
            self.bar.update(event["done"] - self.bar.n)
        elif kind == "load":
            if self.bar is None or self.bar.desc != f"reading {event['split']}":
                self._bar(event["total"], f"reading {event['split']}", "img")
            self.bar.update(event["done"] - self.bar.n)
        elif kind == "data":
            self._close_bar()
            self.say(f"classes: {', '.join(event['classes'])}; images: {event['train']} training, "
                     f"{event['validation']} validation, {event['test']} test")
            for line in event["skipped"]:
                self.say(f"skipped (not a readable image): {line}")
            self.say()
        elif kind == "summary":
            self.say(event["text"])
            self.say()
        elif kind == "initial":
            self.say(f"before training: validation loss {event['val_loss']:.4f}, "
                     f"accuracy {event['val_accuracy']:.4f}")
        elif kind == "epoch_start":
            self._bar(event["steps"], f"phase {event['phase']} epoch {event['epoch']}", "step")
        elif kind == "batch" and self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{event['loss']:.4f}", accuracy=f"{event['accuracy']:.4f}")
        elif kind == "epoch":
            self._close_bar()
            self.say(f"epoch {event['epoch']:>3} (phase {event['phase']}): loss {event['train_loss']:.4f} "
                     f"accuracy {event['train_accuracy']:.4f} | val_loss {event['val_loss']:.4f} "
                     f"val_accuracy {event['val_accuracy']:.4f} ({event['seconds']:.1f} s)")
        elif kind == "test":
            self.say(f"test loss {event['test_loss']:.4f}, test accuracy {event['test_accuracy']:.4f}")
            self.say()
        elif kind == "done":
            result = event["result"]
            self.say(f"done in {result.seconds:.0f} s on {result.device}. Results in {result.run_dir}: "
                     f"metrics.jsonl, curves.png, predictions.png, result.json, model.safetensors")


def run_lesson_cli(config_path: str, overrides: list[str]) -> int:
    from .train import run_lesson

    config = load_config(config_path, overrides, cls=LessonConfig)
    run_lesson(config, on_event=ConsoleReport(config))
    return 0


def predict_cli(run_dir: str, images: list[str]) -> int:
    """Print 'IMAGE: label (probability)' per image; a bad file gets a message naming it, the others still run."""
    from .predict import load_lesson_model, predict

    model = load_lesson_model(run_dir)
    failed = 0
    for image in images:
        try:
            ((label, prob),) = predict(model, [image])
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
            continue
        print(f"{image}: {label} ({prob:.1%})")
    return 2 if failed else 0
