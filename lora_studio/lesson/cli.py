"""`lora-studio lesson` and `lora-studio lesson-predict`: print the lesson's events and explanations for a terminal."""

from __future__ import annotations

import contextlib
import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from ..config import load_config, read_yaml
from ..console import console_language, print_error
from ..errors import ConfigError, UserError
from ..text import Text, in_language
from .config import LessonConfig
from .lines import line
from .model import TINY_CLASSIFIER
from .texts import explain, explain_stage

RESULT_FILES = "metrics.jsonl, curves.png, predictions.png, result.json, model.safetensors"
LESSON_CONFIGS = ("configs/lesson-quick.yaml (offline, about a minute on a CPU) or configs/lesson-cats-dogs.yaml "
                  "(the real lesson: MobileNetV2 and the cats-and-dogs photos)")


class ConsoleReport:
    """Turns `run_lesson` events into explanations, progress bars and one line per epoch, in config.language."""

    def __init__(self, config: LessonConfig, out=None) -> None:
        self.config, self.lang = config, config.language
        self.out = out or sys.stdout
        self.bar = None
        self.facts: dict | None = None
        self.after_blank = True  # a stage heading gets a blank line above it, never two

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)
        self.after_blank = not text

    def line(self, key: str, **values) -> None:
        self.say(line(key, self.lang, **values))

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
        kind, lang = event["type"], self.lang
        if kind == "stage":
            self._close_bar()
            stage, self.facts = event["stage"], event.get("facts")
            if not self.after_blank:
                self.say()
            self.say(f"== {line('stage_' + stage, lang)} ==")
            self.paragraphs(explain_stage(stage, lang, self.facts, place="cli"))
            if stage == "model" and self.config.base == TINY_CLASSIFIER:
                self.paragraphs([explain("tiny", lang, self.facts)])
        elif kind == "download":
            if self.bar is None:
                self.paragraphs([explain("download", lang, self.facts)])
                self._bar(event["total"], line("bar_download", lang), "B", scale=True)
            self.bar.update(event["done"] - self.bar.n)
        elif kind == "unpack":
            self._close_bar()
            self.line("unpack", folder=event["folder"])
        elif kind == "load":
            desc = line("bar_reading", lang, split=event["split"])
            if self.bar is None or self.bar.desc != desc:
                self._bar(event["total"], desc, "img")
            self.bar.update(event["done"] - self.bar.n)
        elif kind == "data":
            self._close_bar()
            self.line("classes", classes=", ".join(event["classes"]), train=event["train"],
                      validation=event["validation"], test=event["test"])
            for entry in event["skipped"]:
                if isinstance(entry, Text):
                    self.line("skipped", path=entry.values["path"], reason=in_language(entry.values["reason"], lang))
                else:  # an entry made elsewhere: its path, and no reason we know
                    self.line("skipped", path=entry, reason=line("skip_other", lang))
            self.say()
        elif kind == "summary":
            self.say(event["text"])
            self.say()
        elif kind == "initial":
            self.line("initial", loss=f"{event['val_loss']:.4f}", accuracy=f"{event['val_accuracy']:.4f}")
        elif kind == "epoch_start":
            self._bar(event["steps"], line("bar_epoch", lang, phase=event["phase"], epoch=event["epoch"]), "step")
        elif kind == "batch" and self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix({line("bar_loss", lang): f"{event['loss']:.4f}",
                                  line("bar_accuracy", lang): f"{event['accuracy']:.4f}"})
        elif kind == "epoch":
            self._close_bar()
            self.line("epoch", epoch=event["epoch"], phase=event["phase"], loss=f"{event['train_loss']:.4f}",
                      accuracy=f"{event['train_accuracy']:.4f}", val_loss=f"{event['val_loss']:.4f}",
                      val_accuracy=f"{event['val_accuracy']:.4f}", seconds=f"{event['seconds']:.1f}")
        elif kind == "test":
            self.line("test", loss=f"{event['test_loss']:.4f}", accuracy=f"{event['test_accuracy']:.4f}")
            self.say()
        elif kind == "done":
            result = event["result"]
            self.line("done", seconds=f"{result.seconds:.0f}", device=result.device, run_dir=result.run_dir,
                      files=RESULT_FILES)


@contextlib.contextmanager
def _report_speaks_for_the_loggers() -> Iterator[None]:
    """The report names skipped files and the download itself, in the chosen language; the loggers' English
    copies would repeat them on top of the progress bars."""
    loggers = [logging.getLogger(f"{__package__}.{name}") for name in ("data", "download")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def run_lesson_cli(config_path: str, overrides: list[str]) -> int:
    from .train import run_lesson

    # read_yaml's own message suggests the LoRA quickstart config; point lesson users at the lesson's.
    if not Path(config_path).is_file():
        raise ConfigError("lesson_config.file_missing", path=config_path, configs=LESSON_CONFIGS)
    if "language" not in read_yaml(config_path) and not any(o.startswith("language=") for o in overrides):
        overrides = [*overrides, f"language={console_language()}"]  # a file that names none: the command line's
    config = load_config(config_path, overrides, cls=LessonConfig)
    try:
        with _report_speaks_for_the_loggers():
            run_lesson(config, on_event=ConsoleReport(config))
    except UserError as e:  # the report speaks the lesson's language; so does what stopped it
        print_error(e, config.language)
        return 2
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
            print_error(e, console_language())
            failed += 1
            continue
        print(f"{image}: {label} ({prob:.1%})")
    return 2 if failed else 0
