"""The lesson's recipe, in order: data -> model -> phase 1 (base frozen) -> phase 2 (last layers unfrozen) -> test.

`run_lesson` prints nothing; it reports through `on_event(dict)` so the CLI and the studio draw their own
progress. Events (every one has "type"):
  stage     {"stage": "model"|"data"|"phase1"|"phase2"|"test"|"save", "facts"}  a new step starts; its
            explanations are texts.explain_stage(stage, lang, facts=event["facts"]) (facts: lesson.facts)
  download  {"done", "total"}                                          bytes of the dataset archive
  unpack    {"folder"}                                                 the archive is being unpacked
  load      {"split", "done", "total"}                                 images decoded so far
  data      {"classes", "train", "validation", "test", "skipped"}      the dataset as read
  summary   {"phase", "total", "trainable", "non_trainable", ..., "text"}  before each phase ("text" in
            config.language)
  initial   {"val_loss", "val_accuracy"}                               the untrained head, for comparison
  epoch_start {"phase", "epoch", "epochs", "steps"}
  batch     {"phase", "epoch", "step", "steps", "loss", "accuracy"}    running averages over the epoch
  epoch     {"phase", "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"}
  test      {"test_loss", "test_accuracy"}
  done      {"result": LessonResult}
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ..config import save_config
from ..errors import ConfigError, TrainingStopped
from ..text import Text
from .config import LessonConfig
from .data import ImageSet, LessonSplits, check_layout, load_splits
from .download import ensure_downloaded_dataset, is_unpacked
from .facts import lesson_facts
from .lines import fmt_pct, line
from .model import (
    LessonClassifier,
    format_summary,
    freeze_base,
    load_base,
    parameter_summary,
    unfreeze_last_layers,
)
from .predict import save_lesson_model
from .report import (
    CURVES_FILE,
    PREDICTIONS_FILE,
    plot_curves,
    plot_predictions,
    write_metrics,
    write_result,
)
from .shapes import make_shapes_dataset

log = logging.getLogger(__name__)

EventFn = Callable[[dict], None]
CONFIG_FILE = "lesson_config.yaml"


@dataclass
class LessonResult:
    run_dir: Path
    classes: list[str]
    test_accuracy: float
    test_loss: float
    initial_val_accuracy: float
    history: list[dict]  # one record per epoch, as in metrics.jsonl
    summaries: dict[str, dict]  # "phase1"/"phase2" -> parameter_summary
    samples: list[dict]  # the test images shown in predictions.png: file, label, predicted, probability
    skipped: list[Text] = field(default_factory=list)
    device: str = "cpu"
    seconds: float = 0.0

    def to_json(self) -> dict:
        data = asdict(self)
        data["run_dir"] = str(self.run_dir)
        return data


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("lesson_config.no_cuda")
    return torch.device(name)


@contextlib.contextmanager
def cpu_threads(count: int | None) -> Iterator[None]:
    if not count:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def check_data(config: LessonConfig) -> None:
    """Stop at once, before the base loads or anything is written, when the data folder cannot work.

    A folder the lesson will download or draw itself is checked after that, by `load_splits`.
    """
    data, folder = config.data, config.data_dir
    if data.source == "cats_and_dogs" and not is_unpacked(folder):
        return
    if data.source == "generated" and not (folder / data.train_split).is_dir():
        return
    check_layout(folder, data.train_split, data.validation_split)


def prepare_data(config: LessonConfig, emit: EventFn) -> LessonSplits:
    data, folder = config.data, config.data_dir
    if data.source == "cats_and_dogs":
        ensure_downloaded_dataset(folder, data.url, data.expected_size,
                                  on_progress=lambda done, total: emit({"type": "download", "done": done, "total": total}),
                                  on_unpack=lambda where: emit({"type": "unpack", "folder": str(where)}))
    elif data.source == "generated" and not (folder / data.train_split).is_dir():
        make_shapes_dataset(folder, per_class=data.generated_per_class, size=data.image_size, seed=config.seed)
    return load_splits(folder, image_size=data.image_size, train_split=data.train_split,
                       validation_split=data.validation_split, test_fraction=data.test_fraction, seed=config.seed,
                       on_progress=lambda split, done, total: emit({"type": "load", "split": split, "done": done,
                                                                    "total": total}))


def make_optimizer(model: LessonClassifier, learning_rate: float, weight_decay: float,
                   head_lr_multiplier: float = 1.0) -> torch.optim.AdamW:
    """AdamW over the trainable parameters only; the head may learn faster than the base (Chainer's variant)."""
    head = [p for p in model.head.parameters() if p.requires_grad]
    base = [p for p in model.base.parameters() if p.requires_grad]
    groups = [{"params": head, "lr": learning_rate * head_lr_multiplier}]
    if base:
        groups.append({"params": base, "lr": learning_rate})
    return torch.optim.AdamW(groups, lr=learning_rate, weight_decay=weight_decay, eps=1e-7)  # Keras' epsilon


@torch.inference_mode()
def evaluate(model: LessonClassifier, images: ImageSet, batch_size: int, device: torch.device) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole set, without augmentation."""
    model.eval()
    loss_sum, correct = 0.0, 0
    for x, y in images.batches(batch_size):
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(dim=1) == y).sum().item()
    return loss_sum / len(images), correct / len(images)


def train_epoch(model: LessonClassifier, train: ImageSet, optimizer: torch.optim.Optimizer, batch_size: int,
                device: torch.device, generator: torch.Generator, on_batch: Callable[[int, float, float], None],
                stop: threading.Event | None = None) -> tuple[float, float]:
    """One pass over shuffled training batches; returns the epoch's average loss and accuracy (like Keras)."""
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    for step, (x, y) in enumerate(train.batches(batch_size, generator), start=1):
        if stop is not None and stop.is_set():
            raise TrainingStopped("lesson_train.stopped")
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        if not math.isfinite(loss.item()):
            raise TrainingStopped("lesson_train.nan_loss")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(dim=1) == y).sum().item()
        seen += len(y)
        on_batch(step, loss_sum / seen, correct / seen)
    return loss_sum / seen, correct / seen


def run_phase(model: LessonClassifier, splits: LessonSplits, phase: int, config: LessonConfig, *,
              device: torch.device, generator: torch.Generator | None = None, first_epoch: int = 1,
              emit: EventFn | None = None, stop: threading.Event | None = None) -> list[dict]:
    """Phase 1: freeze the whole base and train the head. Phase 2: also train the last layers of the base."""
    emit = emit or (lambda event: None)
    generator = generator or torch.Generator().manual_seed(config.seed)
    lang = config.language
    if phase == 1:
        freeze_base(model)
        settings, head_multiplier = config.transfer, 1.0
    else:
        unfreeze_last_layers(model, config.finetune.unfreeze_fraction)
        settings, head_multiplier = config.finetune, config.finetune.head_lr_multiplier
    summary = parameter_summary(model)
    if phase == 1:
        title = line("title_phase1", lang)
    else:
        how = "none" if not summary["trainable_layers"] else "all" if summary["trainable_layers"] == summary["layers"] else "part"
        title = line(f"title_phase2_{how}", lang, pct=fmt_pct(config.finetune.unfreeze_fraction, lang))
    emit({"type": "summary", "phase": phase, **summary, "text": format_summary(summary, title, lang)})
    if settings.epochs == 0:
        return []
    optimizer = make_optimizer(model, settings.learning_rate, settings.weight_decay, head_multiplier)
    batch_size, steps = config.data.batch_size, splits.train.num_batches(config.data.batch_size)
    records = []
    for epoch in range(first_epoch, first_epoch + settings.epochs):
        started = time.perf_counter()
        emit({"type": "epoch_start", "phase": phase, "epoch": epoch, "epochs": settings.epochs, "steps": steps})

        def on_batch(step: int, loss: float, accuracy: float, epoch: int = epoch) -> None:
            emit({"type": "batch", "phase": phase, "epoch": epoch, "step": step, "steps": steps, "loss": loss,
                  "accuracy": accuracy})

        train_loss, train_acc = train_epoch(model, splits.train, optimizer, batch_size, device, generator, on_batch,
                                            stop)
        val_loss, val_acc = evaluate(model, splits.validation, batch_size, device)
        record = {"phase": phase, "epoch": epoch, "train_loss": train_loss, "train_accuracy": train_acc,
                  "val_loss": val_loss, "val_accuracy": val_acc, "learning_rate": settings.learning_rate,
                  "seconds": round(time.perf_counter() - started, 3)}
        records.append(record)
        emit({"type": "epoch", **record})
    return records


def _show_test_samples(model: LessonClassifier, test: ImageSet, run_dir: Path, seed: int,
                       device: torch.device, lang: str = "en") -> list[dict]:
    """Classify nine seeded test images and draw them into predictions.png."""
    generator = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(len(test), generator=generator)[:9].sort().values.tolist()
    sample = test.subset(chosen)
    model.eval()
    with torch.inference_mode():
        probs = model(sample.images.to(device)).float().softmax(dim=1).cpu()
    best, index = probs.max(dim=1)
    predictions = [(test.classes[i], float(p)) for i, p in zip(index.tolist(), best.tolist(), strict=True)]
    truth = [test.classes[label] for label in sample.labels.tolist()]
    plot_predictions(sample.images, truth, predictions, run_dir / PREDICTIONS_FILE, lang)
    return [{"file": str(f), "label": t, "predicted": p, "probability": prob}
            for f, t, (p, prob) in zip(sample.files, truth, predictions, strict=True)]


def run_lesson(config: LessonConfig, on_event: EventFn | None = None,
               stop: threading.Event | None = None) -> LessonResult:
    """Run the whole lesson and write its run folder; see the module docstring for the events."""
    emit = on_event or (lambda event: None)
    started = time.perf_counter()
    run_dir = config.run_dir
    device = resolve_device(config.device)
    check_data(config)  # a missing folder is a one-second message, not one after the model loaded
    with cpu_threads(config.cpu_threads):
        torch.manual_seed(config.seed)
        emit({"type": "stage", "stage": "model", "facts": lesson_facts(config)})
        base = load_base(config.base)
        facts = lesson_facts(config, base)
        emit({"type": "stage", "stage": "data", "facts": facts})
        splits = prepare_data(config, emit)
        emit({"type": "data", "classes": splits.classes, "train": len(splits.train),
              "validation": len(splits.validation), "test": len(splits.test), "skipped": splits.skipped})
        # Written only now, so a run that could not even get its data leaves no config behind.
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, run_dir / CONFIG_FILE)
        model = LessonClassifier(base, splits.classes, config.data.image_size, dropout=config.model.dropout,
                                 flip=config.model.flip, rotation=config.model.rotation).to(device)
        init_loss, init_acc = evaluate(model, splits.validation, config.data.batch_size, device)
        emit({"type": "initial", "val_loss": init_loss, "val_accuracy": init_acc})

        history: list[dict] = []
        summaries: dict[str, dict] = {}

        def record(event: dict) -> None:
            if event["type"] == "epoch":
                history.append({k: v for k, v in event.items() if k != "type"})
                write_metrics(run_dir, history)
            elif event["type"] == "summary":
                summaries[f"phase{event['phase']}"] = {k: v for k, v in event.items() if k not in ("type", "text")}
            emit(event)

        generator = torch.Generator().manual_seed(config.seed)
        for phase in (1, 2):
            emit({"type": "stage", "stage": f"phase{phase}", "facts": facts})
            run_phase(model, splits, phase, config, device=device, generator=generator,
                      first_epoch=len(history) + 1, emit=record, stop=stop)

        emit({"type": "stage", "stage": "test", "facts": facts})
        test_loss, test_acc = evaluate(model, splits.test, config.data.batch_size, device)
        emit({"type": "test", "test_loss": test_loss, "test_accuracy": test_acc})

        emit({"type": "stage", "stage": "save", "facts": facts})
        save_lesson_model(model, run_dir, base=config.base)
        finetune_start = config.transfer.epochs + 1 if config.finetune.epochs and config.transfer.epochs else None
        plot_curves(history, finetune_start, run_dir / CURVES_FILE, config.language)
        samples = _show_test_samples(model, splits.test, run_dir, config.seed, device, config.language)
    result = LessonResult(run_dir=run_dir, classes=splits.classes, test_accuracy=test_acc, test_loss=test_loss,
                          initial_val_accuracy=init_acc, history=history, summaries=summaries, samples=samples,
                          skipped=splits.skipped, device=str(device), seconds=round(time.perf_counter() - started, 2))
    write_result(run_dir, result.to_json())
    emit({"type": "done", "result": result})
    return result
