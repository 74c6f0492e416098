"""The one training config: dataclasses <-> YAML, with `key=value` overrides and errors that name the key.

The same `TrainConfig` travels from the studio's form to `config.yaml` in the run folder to the trainer.
`load_dataclass` / `apply_overrides` are generic so the lesson's config uses the same rules. How one value is
checked against its field lives in config_values.py; how an older release's file is brought up to date in
config_versions.py.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from . import config_versions
from .atomic import write_text_atomic
from .config_values import check_bounds, coerce, setting
from .errors import ConfigError
from .text import Text

T = TypeVar("T")


SEED_MAX = 2**63 - 1  # a torch.Generator seed must fit in 64 bits
LR_MAX = 1.0  # beyond this AdamW's updates overflow the weights at once
SAMPLERS = ("euler_a", "euler", "dpmpp_2m_karras", "dpmpp_2m", "ddim", "ddpm", "pndm")
# What sample and generated pictures avoid unless the user says otherwise (the CLI, the studio and samples).
DEFAULT_NEGATIVE_PROMPT = "lowres, bad anatomy, worst quality"


@dataclass
class DatasetConfig:
    path: str = setting("datasets/sample-character", one_line=True, help="Folder of images with .txt tag files (kohya '10_name' subfolders give repeats).")
    trigger_word: str = setting("", one_line=True, help="Word put first in every caption; use it in prompts to call up the character.")
    resolution: int = setting(512, help="Training side length in pixels; buckets keep about this many pixels.", minimum=64, maximum=4096)
    repeats: int = setting(1, help="How often each image is seen per epoch (folders named 'N_name' override it).", minimum=1)
    shuffle_tags: bool = setting(True, help="Shuffle tags each step so the LoRA does not learn their order.")
    keep_tokens: int = setting(1, help="Leading tags that stay in place when shuffling (the trigger word).", minimum=0)
    caption_dropout: float = setting(0.05, help="Chance to train a step with an empty caption (helps prompts without tags).", minimum=0.0, maximum=1.0)
    tag_dropout: float = setting(0.0, help="Chance to drop each shuffled tag.", minimum=0.0, maximum=1.0)
    flip: bool = setting(False, help="Random horizontal flips (off by default: characters are often asymmetric).")
    buckets: bool = setting(True, help="Group images by aspect ratio instead of cropping them square.")
    bucket_step: int = setting(64, help="Bucket sides are multiples of this many pixels.", minimum=8)
    strict: bool = setting(False, help="Stop on a bad image instead of skipping it with a warning.")
    cache: str = setting("memory", help="Where VAE latents and text embeddings are kept.", choices=("memory", "disk"))


@dataclass
class LoraSettings:
    rank: int = setting(16, help="Adapter size; 8-32 suits a character.", minimum=1, maximum=1024)
    alpha: float = setting(8.0, help="Scale numerator: the update is multiplied by alpha / rank (0 is refused: it "
                                     "would train nothing; kohya's 'alpha = rank' is lora.alpha equal to lora.rank).",
                           minimum=0.0)
    targets: str = setting("default", help="'default': attention blocks with proj and ff (kohya); 'attn': q/k/v/out only.",
                           choices=("default", "attn"))
    dropout: float = setting(0.0, help="Dropout inside the adapter.", minimum=0.0, maximum=1.0)


@dataclass
class TrainSettings:
    batch_size: int = setting(1, help="Images per step.", minimum=1)
    epochs: int = setting(10, help="Passes over the dataset (ignored when max_train_steps is set).", minimum=1)
    max_train_steps: int | None = setting(None, help="Stop after this many optimizer steps.", minimum=1)
    learning_rate: float = setting(1e-4, help="Adapter learning rate; 1e-4 is a safe start.", above=0.0,
                                   maximum=LR_MAX)
    lr_scheduler: str = setting("constant", help="Learning-rate schedule.",
                                choices=("constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial"))
    lr_warmup_steps: int = setting(0, help="Steps to ramp the learning rate up from 0.", minimum=0)
    optimizer: str = setting("adamw", help="'adamw8bit' needs bitsandbytes and saves memory.", choices=("adamw", "adamw8bit"))
    weight_decay: float = setting(1e-2, help="AdamW weight decay.", minimum=0.0)
    max_grad_norm: float = setting(1.0, help="Clip gradients to this norm (0 turns clipping off).", minimum=0.0)
    gradient_accumulation_steps: int = setting(1, help="Add up gradients over this many batches per step.", minimum=1)
    gradient_checkpointing: bool = setting(False, help="Recompute activations: less memory, slower steps.")
    mixed_precision: str = setting("no", help="Base weights in bf16/fp16 on a GPU; adapters stay fp32.", choices=("no", "fp16", "bf16"))
    prediction_type: str | None = setting(None, help="Leave empty to use the base model's (v_prediction for SD2 768).",
                                          choices=(None, "epsilon", "v_prediction"))
    zero_terminal_snr: bool | None = setting(None, help="Rescale the noise schedule so its last step is pure noise (kohya's --zero_terminal_snr); empty follows the base (on for v-prediction SDXL such as NoobAI-XL V-Pred).")
    min_snr_gamma: float | None = setting(5.0, help="Min-SNR loss weighting (5 is the paper's value; empty turns it off).", minimum=0.0)
    noise_offset: float = setting(0.0, help="Offset noise for darker/brighter images (0.05-0.1).", minimum=0.0)
    seed: int = setting(42, help="Same seed, same run.", minimum=0, maximum=SEED_MAX)
    checkpoint_every_n_steps: int = setting(0, help="Save a resumable checkpoint every N steps (0: never; Stop always saves one).", minimum=0)
    checkpoints_total_limit: int = setting(2, help="Keep this many checkpoints.", minimum=1)
    save_every_n_epochs: int = setting(0, help="Also save the adapter after every N epochs as <name>-000004.safetensors (kohya's naming), to pick the best one with lora-studio compare (0: only the final adapter).", minimum=0)
    save_every_n_steps: int = setting(0, help="Also save the adapter every N steps as <name>-step00000400.safetensors (0: never).", minimum=0)
    keep_n_adapters: int = setting(0, help="Keep only the newest N of those extra adapters (0: keep all); the final adapter is always kept.", minimum=0)
    resume: str | None = setting(None, one_line=True, help="'latest' or a checkpoint folder to continue from.")
    fast_step: str = setting("auto", help="How steps run on a CUDA GPU: 'auto' captures the whole step as a CUDA graph per batch shape, checked against eager on first use, else eager; 'compile' adds torch.compile (minutes of compiling first).",
                             choices=("auto", "eager", "cuda_graph", "compile"))
    log_every_n_steps: int = setting(1, help="Write metrics.jsonl every N steps.", minimum=1)
    tensorboard: bool = setting(False, help="Also log to TensorBoard (needs tensorboard installed).")


@dataclass
class SampleSettings:
    every_n_steps: int = setting(0, help="Make sample images every N steps (0: only at the end).", minimum=0)
    every_n_epochs: int = setting(0, help="Also make sample images after every N epochs (0: never), so the studio shows them epoch by epoch.", minimum=0)
    prompts: list[str] = setting(help="Prompts for sample images; empty uses the trigger word.", factory=list)
    negative_prompt: str = setting(DEFAULT_NEGATIVE_PROMPT, help="What sample images should avoid.")
    steps: int = setting(20, help="Denoising steps per sample.", minimum=1)
    guidance_scale: float = setting(7.0, help="How strongly samples follow the prompt.", minimum=0.0)
    sampler: str = setting("euler_a", help="Sampler for sample images.", choices=SAMPLERS)
    seed: int = setting(1, help="Seed for sample images.", minimum=0, maximum=SEED_MAX)


@dataclass
class TrainConfig:
    name: str = setting("my-lora", one_line=True, help="Run name; the adapter is saved as outputs/<name>/<name>.safetensors.")
    base: str = setting("stable-diffusion-v1-5/stable-diffusion-v1-5", one_line=True,
                        help="Hub id, local diffusers folder, single .safetensors checkpoint, or 'tiny' (offline test model).")
    allow_pickle: bool = setting(False, help="Allow pickle .ckpt bases (they can run code: only for files you trust).")
    output_dir: str | None = setting(None, one_line=True, help="Run folder (default outputs/<name>).")
    dataset: DatasetConfig = setting(factory=DatasetConfig)
    lora: LoraSettings = setting(factory=LoraSettings)
    train: TrainSettings = setting(factory=TrainSettings)
    sample: SampleSettings = setting(factory=SampleSettings)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) if self.output_dir else Path("outputs") / self.name

    def validate(self) -> None:
        """Rules that involve more than one field's type and bounds, checked before any work starts."""
        if not RUN_NAME.match(self.name) or self.name in (".", ".."):
            raise ConfigError("config.bad_run_name", name=self.name)
        if self.lora.alpha == 0:
            raise ConfigError("config.alpha_zero", half=f"{self.lora.rank / 2:g}", rank=self.lora.rank)
        d = self.dataset
        if d.bucket_step % 8:
            raise ConfigError("config.bucket_step_multiple", value=d.bucket_step)
        if d.resolution % 8:
            raise ConfigError("config.resolution_multiple", value=d.resolution,
                              example=max(64, d.resolution // 64 * 64))


# A run name is one folder name: it cannot climb out of outputs/ or hide.
RUN_NAME = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$")


# ---------------------------------------------------------------- generic loading


def load_dataclass(cls: type[T], data: Any, prefix: str = "") -> T:
    """Build `cls` from a mapping, naming the dotted key of anything unknown or invalid."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("config.expected_mapping", key=prefix or "config", value=data)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        key = f"{prefix}{unknown[0]}"
        raise ConfigError("config.unknown_key", key=key, known=", ".join(fields))
    kwargs = {}
    for name, value in data.items():
        key, tp = f"{prefix}{name}", hints[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = load_dataclass(tp, value, f"{key}.")
            continue
        value = coerce(value, tp, key)
        check_bounds(value, fields[name].metadata, key)
        kwargs[name] = value
    return cls(**kwargs)


def parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError("config.override_form", override=text)
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError("config.override_no_key", override=text)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    except RecursionError:
        raise _too_deep(Text("config.where_override", key=key)) from None
    _check_depth(value, Text("config.where_override", key=key))
    return key.split("."), value


def set_dotted(data: dict, key: str | list[str], value: Any) -> None:
    """`data["a"]["b"] = value` for the key `a.b`, making sections on the way; a key through a value is refused."""
    *parents, last = key.split(".") if isinstance(key, str) else key
    node = data
    for part in parents:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError("config.not_a_section", key=".".join([*parents, last]), part=part)
        node = child
    node[last] = value


def config_fields(cls: type, prefix: str = "") -> list[tuple[str, Any, dataclasses.Field]]:
    """(dotted key, type, field) of every leaf setting of a config dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    found = []
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            found += config_fields(hints[f.name], f"{prefix}{f.name}.")
        else:
            found.append((f"{prefix}{f.name}", hints[f.name], f))
    return found


MAX_DEPTH = 16  # a config is a few levels deep; far more is a mistake or an attack (Python's recursion limit)


def _too_deep(where: Text) -> ConfigError:
    return ConfigError("config.too_deep", where=where, depth=MAX_DEPTH)


def _check_depth(data: Any, where: Text) -> None:
    """Refuse YAML nested absurdly deep, without recursing (a deep structure must not crash the check)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(where)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack += [(child, depth + 1) for child in children]


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply `a.b=value` overrides to a raw config mapping (values parsed as YAML scalars)."""
    for text in overrides:
        path, value = parse_override(text)
        try:
            set_dotted(data, path, value)
        except ConfigError as e:
            raise ConfigError("config.override_not_section", override=text, part=e.values.get("part", "?")) from None
    return data


def preset_folder() -> Path:
    """The presets that ship with lora-studio: inside the installed package (a wheel), else the source tree's
    `configs/` (a checkout or an editable install); pyproject.toml packs `configs/` as `lora_studio/presets`."""
    package = Path(__file__).resolve().parent
    installed = package / "presets"
    return installed if installed.is_dir() else package.parent / "configs"


def find_config(path: str | Path) -> Path:
    """`path` itself, or, when it does not exist, the shipped preset it names (`quickstart`,
    `configs/quickstart.yaml`), so the README's commands work from any folder after a plain `pip install`."""
    path = Path(path)
    if path.exists() or len(path.parts) > 2 or (len(path.parts) == 2 and path.parts[0] != "configs"):
        return path
    shipped = preset_folder() / f"{path.stem}.yaml"
    return shipped if path.suffix in ("", ".yaml") and shipped.is_file() else path


def read_yaml(path: str | Path) -> dict:
    path = find_config(path)
    if not path.is_file():
        raise ConfigError("config.file_missing", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError("config.not_utf8", path=path, byte=f"{e.object[e.start]:02x}", position=e.start) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError("config.bad_yaml", path=path, detail=e) from None
    except RecursionError:
        raise _too_deep(Text("config.where_file", path=path)) from None
    _check_depth(data, Text("config.where_file", path=path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("config.not_mapping", path=path)
    return config_versions.migrate(data, path)


def load_config(path: str | Path | None, overrides: list[str] | None = None, cls: type[T] = TrainConfig) -> T:
    """Read YAML (or start from defaults when `path` is None), apply overrides, validate."""
    data = read_yaml(path) if path is not None else {}
    data = apply_overrides(data, list(overrides or []))
    config = load_dataclass(cls, data)
    validate = getattr(config, "validate", None)
    if callable(validate):
        validate()
    return config


def to_dict(config: Any) -> dict:
    return dataclasses.asdict(config)


def dump_yaml(config: Any) -> str:
    """The config as YAML, stamped with this release's config_version so a later release can migrate it."""
    return yaml.safe_dump(config_versions.stamped(to_dict(config)), sort_keys=False, allow_unicode=True)


def save_config(config: Any, path: str | Path) -> None:
    write_text_atomic(path, dump_yaml(config))
