"""The Train tab's settings form: the few settings that matter up front, every other TrainConfig field under
"advanced", and the two-way mapping between the form's values and a validated `TrainConfig`."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from ..config import TrainConfig, config_fields, load_config, load_dataclass, set_dotted, to_dict
from ..data import scan_dataset
from ..errors import DatasetError, UserError
from ..models import PICKLE_SUFFIXES, SINGLE_FILE_SUFFIXES, TINY, TINY_BASES
from ..steps import plan_steps
from ..studio_paths import StudioPaths
from .i18n import I18N, TEXT, StudioError, help_key, say, tr

# Shown up front, in this order; everything else in TrainConfig goes under "advanced".
MAIN_NUMBERS = ("lora.rank", "lora.alpha", "train.learning_rate", "dataset.resolution", "train.batch_size",
                "dataset.repeats")
# The studio owns run folders and resuming; pickle bases are for the command line only.
NOT_IN_FORM = ("output_dir", "train.resume", "allow_pickle")
OWN_WIDGETS = ("name", "base", "dataset.path", "dataset.trigger_word", "train.max_train_steps", "train.epochs")
BASE_KINDS = ("tiny", "hub", "folder", "file")
# Where the first settings sit in TrainForm.components and in the lists of values its events receive.
NAME, DATASET, TRIGGER, BASE_KIND, BASE_PATH = range(5)


def all_fields(cls: type = TrainConfig) -> list[tuple[str, Any, dict]]:
    """(dotted key, type, metadata) of every leaf setting, in declaration order."""
    return [(key, tp, dict(f.metadata)) for key, tp, f in config_fields(cls)]


def _get(data: dict, dotted: str) -> Any:
    for part in dotted.split("."):
        data = data[part]
    return data


def _optional(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


def _inner(tp: Any) -> Any:
    return typing.get_args(tp)[0] if _optional(tp) else tp


def _is_number(tp: Any) -> bool:
    return _inner(tp) in (int, float)


def _widget(key: str, tp: Any, meta: dict, value: Any) -> gr.components.Component:
    label, info = key, I18N(help_key(key))
    choices = meta.get("choices")
    base = _inner(tp)
    if choices:
        return gr.Dropdown([("—" if c is None else c, "" if c is None else c) for c in choices], value=value,
                           label=label, info=info)
    if base is bool:
        return gr.Checkbox(value, label=label, info=info)
    if base in (int, float):
        # No minimum/maximum here: gradio would refuse every later event with its own untranslated sentence
        # that names no field; the config's bounds give a message naming the setting instead.
        return gr.Number(value, label=label, info=info, precision=0 if base is int else None)
    if typing.get_origin(base) is list:
        return gr.Textbox(value, label=label, info=info, lines=3)
    return gr.Textbox(value, label=label, info=info)


class FormValues:
    """The form's values, in TrainForm.components order, <-> a validated TrainConfig. Holds no components, so the
    server's handlers can use it without the page's widgets."""

    def __init__(self, paths: StudioPaths) -> None:
        self.paths = paths
        self.fields = {key: (tp, meta) for key, tp, meta in all_fields()}
        skip = set(MAIN_NUMBERS) | set(NOT_IN_FORM) | set(OWN_WIDGETS)
        self.advanced_keys = [key for key in self.fields if key not in skip]

    # ---- config -> form

    def values(self, cfg: TrainConfig) -> list[Any]:
        data = to_dict(cfg)
        base_kind, base_path = base_kind_of(cfg.base)
        steps = cfg.train.max_train_steps
        out = [cfg.name, Path(cfg.dataset.path).name, cfg.dataset.trigger_word, base_kind, base_path,
               "steps" if steps else "epochs", steps or cfg.train.epochs]
        out += [_get(data, key) for key in MAIN_NUMBERS]
        for key in self.advanced_keys:
            tp, _ = self.fields[key]
            value = _get(data, key)
            if isinstance(value, list):
                value = "\n".join(value)
            elif value is None and not _is_number(tp):
                value = ""
            out.append(value)
        return out

    # ---- form -> config

    def config(self, values: list[Any], need_base: bool = True) -> TrainConfig:
        """A validated TrainConfig; ConfigError names the dotted key of a bad value. Without `need_base` a base
        not typed yet stands in as tiny (the step arithmetic does not depend on it)."""
        name, dataset, trigger, base_kind, base_path, length_kind, length, *rest = values
        data: dict[str, Any] = {}
        base = compose_base(base_kind, base_path) if need_base or (base_path or "").strip() else TINY
        folder = self.paths.dataset(dataset or "")
        set_dotted(data, "name", (name or "").strip())
        set_dotted(data, "base", base)
        set_dotted(data, "dataset.path", str(folder))
        set_dotted(data, "dataset.trigger_word", (trigger or "").strip())
        if not length or length < 1:
            raise StudioError("tr_length_bad")
        if length_kind == "steps":
            set_dotted(data, "train.max_train_steps", int(length))
        else:
            set_dotted(data, "train.epochs", int(length))
            set_dotted(data, "train.max_train_steps", None)
        keys = list(MAIN_NUMBERS) + self.advanced_keys
        for key, value in zip(keys, rest, strict=True):
            tp, _ = self.fields[key]
            if isinstance(value, str) and typing.get_origin(_inner(tp)) is list:
                value = [line.strip() for line in value.splitlines() if line.strip()]
            elif value == "" and _optional(tp):
                value = None
            set_dotted(data, key, value)
        return load_dataclass(TrainConfig, data)


class TrainForm(FormValues):
    """The form's components, in `self.components` order, filled with `initial`."""

    def __init__(self, paths: StudioPaths, initial: TrainConfig) -> None:
        super().__init__(paths)
        init = iter(self.values(initial))
        with gr.Row():
            self.name = gr.Textbox(next(init), label=I18N("tr_name"), info=I18N(help_key("name")), elem_id="tr-name")
            self.dataset = gr.Dropdown([], value=next(init), allow_custom_value=True, label=I18N("tr_dataset"),
                                       info=I18N(help_key("dataset.path")), elem_id="tr-dataset")
            self.trigger = gr.Textbox(next(init), label=I18N("tr_trigger"),
                                      info=I18N(help_key("dataset.trigger_word")), elem_id="tr-trigger")
        with gr.Row():
            self.base_kind = gr.Radio([(I18N(f"base_{k}"), k) for k in BASE_KINDS], value=next(init),
                                      label=I18N("tr_base"), elem_id="tr-base-kind")
            self.base_path = gr.Textbox(next(init), label=I18N("tr_base_path"), info=I18N("tr_base_path_info"),
                                        elem_id="tr-base-path")
        self.base_note = gr.Markdown(elem_id="tr-base-note")
        with gr.Row():
            self.length_kind = gr.Radio([(I18N("len_steps"), "steps"), (I18N("len_epochs"), "epochs")],
                                        value=next(init), label=I18N("tr_length"), info=I18N("tr_length_info"))
            self.length = gr.Number(next(init), label=I18N("tr_length_value"), precision=0, elem_id="tr-length")
        self.main: dict[str, gr.components.Component] = {}
        with gr.Row():
            for key in MAIN_NUMBERS:
                tp, meta = self.fields[key]
                self.main[key] = gr.Number(next(init), label=I18N(f"f_{key.split('.')[-1]}"),
                                           info=I18N(help_key(key)), precision=0 if tp is int else None,
                                           min_width=150, elem_id=f"tr-{key.split('.')[-1].replace('_', '-')}")
        self.arithmetic = gr.Markdown(elem_id="tr-arithmetic")
        self.advanced = self._advanced(init)
        self.components = [self.name, self.dataset, self.trigger, self.base_kind, self.base_path, self.length_kind,
                           self.length, *self.main.values(), *self.advanced.values()]

    def _advanced(self, init: Iterator[Any]) -> dict[str, gr.components.Component]:
        """Every other setting, by section, in a closed accordion; `init` gives their values in order."""
        advanced: dict[str, gr.components.Component] = {}
        with gr.Accordion(I18N("tr_advanced"), open=False):
            gr.Markdown(I18N("tr_advanced_info"))
            sections: dict[str, list[str]] = {}
            for key in self.advanced_keys:
                sections.setdefault(key.split(".")[0] if "." in key else "run", []).append(key)
            for keys in sections.values():
                for start in range(0, len(keys), 3):  # three per row: 40 settings stay one screen or two
                    with gr.Row():
                        for key in keys[start:start + 3]:
                            tp, meta = self.fields[key]
                            advanced[key] = _widget(key, tp, meta, next(init))
        return advanced


def base_kind_of(base: str) -> tuple[str, str]:
    if base in TINY_BASES:
        return "tiny", "" if base == TINY else base
    path = Path(base).expanduser()
    if path.suffix.lower() in SINGLE_FILE_SUFFIXES:
        return "file", base
    if path.is_dir() or base.startswith((".", "/", "~")):
        return "folder", base
    return "hub", base


def compose_base(kind: str, path: str) -> str:
    if kind == "tiny":
        return path.strip() if (path or "").strip() in TINY_BASES else TINY
    path = (path or "").strip()
    if not path:
        raise StudioError("tr_base_missing")
    return path


def family_note(base: str, lang: str) -> str:
    """What the typed base is (family, native size, prediction type), from its name, folder or file header
    (no weights read); "" while it cannot be told yet."""
    from ..families import detect_family

    base = (base or "").strip()
    if not base or Path(base).suffix.lower() in PICKLE_SUFFIXES:  # the studio never opens pickle files
        return ""
    try:
        family = detect_family(base)
    except UserError:
        return ""
    note = tr(lang, "base_family_note", family=family.label, resolution=family.resolution,
              prediction=tr(lang, f"prediction_{family.prediction_type}"))
    return f"{note} {tr(lang, 'base_sdxl_hint')}" if family.xl else note


def load_preset(paths: StudioPaths, preset: str) -> TrainConfig:
    files = paths.preset_files()
    if preset not in files:
        raise StudioError("preset_missing", name=preset, names=", ".join(files) or "(none)")
    return load_config(files[preset])


def preset_choices(paths: StudioPaths) -> list[tuple[Any, str]]:
    """(label, file stem) for the preset dropdown: the shipped presets by what they are for, others by name."""
    return [(I18N(f"preset_{stem}") if f"preset_{stem}" in TEXT else stem, stem) for stem in paths.preset_files()]


def field_error(error: UserError, lang: str) -> str:
    """A bad setting's message with the field's label in front, so the person sees which box to fix."""
    key = str(error.values.get("key", ""))  # the setting a config error names
    label = tr(lang, f"f_{key.split('.')[-1]}") if key in MAIN_NUMBERS else ""
    text = error.render(lang)
    if not label:
        return f"⚠️ {text}"
    return f"⚠️ **{label}** ({key}): {text.removeprefix(key + ': ')}"


# ---------------------------------------------------------------- step arithmetic

_scan_cache: dict[tuple, list] = {}


def _items(cfg: TrainConfig) -> list:
    folder = Path(cfg.dataset.path)
    listing = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()))
    d = cfg.dataset
    key = (str(folder), d.resolution, d.bucket_step, d.buckets, d.repeats, listing)
    if key not in _scan_cache:
        _scan_cache.clear()
        _scan_cache[key] = scan_dataset(cfg.dataset).items
    return _scan_cache[key]


def arithmetic(cfg: TrainConfig, lang: str) -> str:
    """'N images x repeats / batch = steps per epoch; E epochs = T steps', or why it cannot be computed yet."""
    if not Path(cfg.dataset.path).is_dir():
        name = Path(cfg.dataset.path).name
        return tr(lang, "arith_sample" if name == "sample-character" else "arith_no_dataset", name=name)
    try:
        plan = plan_steps(cfg, _items(cfg), world_size=1)
    except (DatasetError, OSError) as e:
        return f"⚠️ {say(lang, e)}"
    early = plan.total_steps < plan.steps_per_epoch * plan.epochs  # train.max_train_steps cuts the last epoch
    return tr(lang, "arith_early" if early else "arith", images=plan.num_images, samples=plan.num_samples, batch=plan.batch_size * plan.accumulation,
              per_epoch=plan.steps_per_epoch, epochs=plan.epochs, total=plan.total_steps)
