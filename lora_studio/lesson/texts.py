"""Plain-language explanations of each lesson step, in English and Japanese (lora_studio/text/lesson.py, keys
"lesson.step.<step>"): one source for the CLI and the studio.

Written for a reader who has never trained a model. The numbers in them come from the run itself: pass the
`facts` dict that `run_lesson` puts into every "stage" event (see `lesson.facts.lesson_facts`); without it the
tutorial's own settings are described. `place` says where the text is shown ("cli" or "studio"), so the last
step points at the command line or at the studio's "Classify my photo" box.

    explain(step, lang, facts=None, place="cli")          -> one paragraph
    explain_stage(stage, lang, facts=None, place="cli")   -> the paragraphs shown before a stage of run_lesson
"""

from __future__ import annotations

from typing import Any

from ..text import render
from ..text.lesson import STEPS
from .lines import LANGUAGES, fmt_lr, fmt_pct, fmt_times, line

PLACES = ("cli", "studio")
STEP_NAMES = [key.removeprefix("lesson.step.") for key in STEPS]

# What the texts describe when no run's facts are given: the tutorial (and our default config).
TUTORIAL: dict[str, Any] = {
    "transfer_lr": 1e-4, "transfer_epochs": 10, "finetune_lr": 1e-5, "finetune_epochs": 10, "head_lr_multiplier": 1.0,
    "unfreeze_fraction": 0.24, "layers": 104, "unfrozen_layers": 25, "blocks": 16, "first_block": 13,
    "keras_first_unfrozen": "block_13_expand_BN", "test_fraction": 0.2, "flip": True, "rotation": 0.2, "dropout": 0.0,
    "data_dir": "datasets/cats_and_dogs_filtered", "run_dir": "outputs/lesson-cats-dogs", "tiny": False,
}

STAGES: dict[str, tuple[str, ...]] = {
    "model": ("intro", "model", "scaling"),
    "data": ("data", "split", "augmentation"),
    "phase1": ("summary", "phase1", "batchnorm"),
    "phase2": ("two_phases", "phase2", "layers"),
    "test": ("test",),
    "save": ("save", "curves", "val_beats_train", "predict"),
}


def _how_many(f: dict) -> str:
    """'all', 'none' or 'part': how much of the base phase 2 unfreezes."""
    return "none" if f["unfrozen_layers"] <= 0 else "all" if f["unfrozen_layers"] >= f["layers"] else "part"


def _where(f: dict, lang: str) -> str:
    """Where the unfrozen layers start, in words, with Keras' name for comparison with the tutorial."""
    block, keras = f.get("first_block"), f.get("keras_first_unfrozen", "")
    if block is None:
        return line("where_final", lang, keras=keras)
    if block == 0:
        return line("where_first", lang, keras=keras)
    return line("where_block", lang, block=block, blocks=f["blocks"], keras=keras)


def _rate(f: dict, lang: str) -> str:
    """Phase 2's learning rate compared with phase 1's (and the head's, when it differs)."""
    lr1, lr2 = f["transfer_lr"], f["finetune_lr"]
    values = {"lr1": fmt_lr(lr1), "lr2": fmt_lr(lr2)}
    if lr1 <= 0 or lr2 <= 0:
        text = line("rate_plain", lang, **values)
    elif abs(lr2 / lr1 - 1) < 1e-9:
        text = line("rate_same", lang, **values)
    elif lr2 < lr1:
        text = line("rate_smaller", lang, times=fmt_times(lr1 / lr2), **values)
    else:
        text = line("rate_larger", lang, times=fmt_times(lr2 / lr1), **values)
    if f["head_lr_multiplier"] != 1:
        text += line("rate_head", lang, times=fmt_times(f["head_lr_multiplier"]),
                     lr=fmt_lr(lr2 * f["head_lr_multiplier"]))
    return text + line("sentence_end", lang)


def _values(step: str, lang: str, f: dict) -> dict[str, str]:
    """The run's numbers (and the sentences that depend on them) for one step's template."""
    if step == "tiny":
        # Shown before the base is loaded, so the layer counts are not known yet: the fraction says it.
        return {"whole": line("tiny_whole", lang) if f["unfreeze_fraction"] >= 1 else ""}
    if step == "predict":
        return {"run_dir": str(f["run_dir"])}
    if step == "download":
        return {"folder": str(f["data_dir"])}
    if step == "split":
        return {"pct": fmt_pct(f["test_fraction"], lang)}
    if step == "augmentation":
        kind = "both" if f["flip"] and f["rotation"] else "flip" if f["flip"] else "turn" if f["rotation"] else "none"
        return {"ops": line(f"aug_{kind}", lang, degrees=f"{f['rotation'] * 360:g}", turn=f"{f['rotation']:g}"),
                "effect": line("aug_effect_none" if kind == "none" else "aug_effect", lang)}
    if step == "phase1":
        same = (f["transfer_lr"], f["transfer_epochs"]) == (TUTORIAL["transfer_lr"], TUTORIAL["transfer_epochs"])
        return {"tutorial": line("as_tutorial" if same else "phase1_tutorial", lang), "lr": fmt_lr(f["transfer_lr"]),
                "epochs": line("epochs_one" if f["transfer_epochs"] == 1 else "epochs", lang,
                                                                 n=f["transfer_epochs"])}
    how = _how_many(f)
    smaller = 0 < f["finetune_lr"] < f["transfer_lr"]
    if step == "two_phases":
        return {"then": line(f"then_{how}", lang, gently=line("gently", lang) if smaller else "")}
    if step == "layers":
        return {"layers": str(f["layers"]),
                "which": line(f"which_{how}", lang, pct=fmt_pct(f["unfreeze_fraction"], lang), n=f["unfrozen_layers"],
                              where=_where(f, lang) if how == "part" else "")}
    if step == "phase2":
        first = f["transfer_epochs"] + 1
        n = f["finetune_epochs"]
        epochs = (line("no_epochs", lang) if n == 0 else line("more_epochs_one", lang, first=first) if n == 1 else
                  line("more_epochs", lang, n=n, first=first, last=first + n - 1))
        why = "" if how == "none" else "why_smaller" if smaller else "why_tiny" if f["tiny"] else "why_careful"
        return {"unfrozen": line(f"unfrozen_{how}", lang, pct=fmt_pct(f["unfreeze_fraction"], lang),
                                 n=f["unfrozen_layers"], layers=f["layers"]),
                "rate": "" if how == "none" else _rate(f, lang), "epochs": epochs,
                "why": line(why, lang) if why else ""}
    return {}


def explain(step: str, lang: str = "en", facts: dict | None = None, place: str = "cli") -> str:
    """One explanation; `lang` is 'en' or 'ja', `facts` the stage event's (tutorial numbers when None)."""
    if place == "studio" and f"lesson.step.{step}_studio" in STEPS:
        step = f"{step}_studio"
    if f"lesson.step.{step}" not in STEPS:
        raise KeyError(f"no explanation for step '{step}'; known steps: {', '.join(STEP_NAMES)}")
    if lang not in LANGUAGES:
        raise KeyError(f"no explanations in language '{lang}'; choose one of: {', '.join(LANGUAGES)}")
    if place not in PLACES:
        raise KeyError(f"no place '{place}'; choose one of: {', '.join(PLACES)}")
    return render(f"lesson.step.{step}", lang, **_values(step, lang, {**TUTORIAL, **(facts or {})}))


def explain_stage(stage: str, lang: str = "en", facts: dict | None = None, place: str = "cli") -> list[str]:
    """The paragraphs shown before a stage of `run_lesson` (empty for a stage without text)."""
    return [explain(step, lang, facts, place) for step in STAGES.get(stage, ())]
