"""Booru tags for pictures: SmilingWolf's WD taggers v3 through timm, or the offline `tiny` tagger.

A tagger is a timm model published the way SmilingWolf publishes them on the Hugging Face hub (`config.json`
with its `pretrained_cfg`, `model.safetensors`) plus `selected_tags.csv` (tag_id,name,category,count; category
9 = rating, 0 = general, 4 = character). Pictures are prepared as the model card's code does: transparency on
white, padded to a square on white, resized (bicubic) to the model's input size, channels in BGR order, and
scaled by the model's own mean/std (for the WD taggers 0.5/0.5, i.e. the 0..255 BGR values of the ONNX
version mapped to -1..1, as their JAX/ONNX graph does internally). `timm` is imported only when tagging.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .tag_options import (  # noqa: F401  (re-exported: the tagger's names in one place)
    DEFAULT_MODEL,
    HUB_MODELS,
    KAOMOJIS,
    MODES,
    TINY,
    TaggerError,
    TagOptions,
    same_tag,
    tag_text,
)

TAGS_FILE = "selected_tags.csv"
RATING, GENERAL, CHARACTER = 9, 0, 4
INSTALL_HINT = 'automatic tagging needs the timm package: pip install "lora-studio[tag]" (or pip install timm)'




# ---------------------------------------------------------------- labels


@dataclass(frozen=True)
class Labels:
    names: list[str]
    categories: list[int]

    def of(self, category: int) -> list[int]:
        return [i for i, c in enumerate(self.categories) if c == category]


def read_labels(path: Path) -> Labels:
    """selected_tags.csv: header tag_id,name,category,count; a bad file is named with the line to fix."""
    names, categories = [], []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        if header[:3] != ["tag_id", "name", "category"]:
            raise TaggerError(f"tag list '{path}' does not start with tag_id,name,category; it is not a WD tagger's "
                              f"selected_tags.csv")
        for line, row in enumerate(reader, start=2):
            try:
                names.append(row[1])
                categories.append(int(row[2]))
            except (IndexError, ValueError):
                raise TaggerError(f"tag list '{path}' line {line} is not 'tag_id,name,category,count'") from None
    return Labels(names, categories)


# ---------------------------------------------------------------- preprocessing


def pad_square(image: Image.Image) -> Image.Image:
    """RGB on white, centered on a white square as wide as its longer side (the model card's pil_pad_square)."""
    if image.mode != "RGB":
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        image = canvas.convert("RGB")
    side = max(image.size)
    square = Image.new("RGB", (side, side), (255, 255, 255))
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return square


def preprocess(image: Image.Image, size: int, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """The tagger's input for one picture: float [3, size, size], BGR, ((0..255 / 255) - mean) / std."""
    square = pad_square(image)
    if square.size != (size, size):
        square = square.resize((size, size), Image.Resampling.BICUBIC)
    pixels = torch.from_numpy(np.asarray(square, dtype=np.float32)).permute(2, 0, 1)  # RGB, 0..255
    mean_t = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    normalized = (pixels / 255.0 - mean_t) / std_t
    return normalized[[2, 1, 0]].contiguous()  # the WD taggers were trained on BGR pictures


# ---------------------------------------------------------------- choosing tags


@dataclass(frozen=True)
class Prediction:
    tag: str          # as written in a caption
    confidence: float
    category: int


def pick_tags(probs: Sequence[float], labels: Labels, options: TagOptions) -> list[Prediction]:
    """The tags to write for one picture, most confident first; the rating (when asked for) leads."""
    probs = np.asarray(probs, dtype=np.float64)
    excluded = options.excluded()
    chosen = [Prediction(tag_text(labels.names[i]), float(probs[i]), GENERAL)
              for i in labels.of(GENERAL) if probs[i] >= options.threshold]
    chosen += [Prediction(tag_text(labels.names[i]), float(probs[i]), CHARACTER)
               for i in labels.of(CHARACTER) if probs[i] >= options.character_threshold]
    chosen.sort(key=lambda p: -p.confidence)  # stable: equal confidences keep the tag list's order
    ratings = labels.of(RATING)
    if options.ratings and ratings:
        best = max(ratings, key=lambda i: probs[i])
        chosen.insert(0, Prediction(tag_text(labels.names[best]), float(probs[best]), RATING))
    return [p for p in chosen if same_tag(p.tag) not in excluded]


# ---------------------------------------------------------------- the model


def _timm():
    try:
        import timm
    except ImportError:
        raise TaggerError(INSTALL_HINT) from None
    return timm


def model_source(model: str) -> tuple[str, str]:
    """("tiny" | "folder" | "hub", where) for what the user typed; a TaggerError for anything else."""
    model = (model or "").strip() or DEFAULT_MODEL
    if model == TINY:
        return "tiny", TINY
    if model in HUB_MODELS:
        return "hub", HUB_MODELS[model]
    path = Path(model).expanduser()
    if path.is_dir():
        missing = [name for name in ("config.json", TAGS_FILE) if not (path / name).is_file()]
        if missing:
            raise TaggerError(f"tagger folder '{path}' has no {' or '.join(missing)}; it must hold a timm model "
                              f"(config.json, model.safetensors) and its {TAGS_FILE}")
        return "folder", str(path)
    if model.count("/") == 1 and not model.startswith((".", "/", "~")):
        return "hub", model
    raise TaggerError(f"tagger model '{model}' is neither {', '.join(HUB_MODELS)}, a hub id (owner/name), "
                      f"a local folder, nor tiny")


def _offline_message(repo: str, error: Exception) -> str:
    return (f"could not load the tagger '{repo}': it is not in the local Hugging Face cache and cannot be downloaded "
            f"here ({type(error).__name__}). Connect to the internet once (it is downloaded once into the Hugging Face "
            f"cache, a few hundred MB), point --model at a folder holding its config.json, model.safetensors and "
            f"{TAGS_FILE}, or use --model tiny to try the flow offline (its tags are meaningless).")


@dataclass
class Tagger:
    model: torch.nn.Module
    labels: Labels
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    device: torch.device
    name: str
    note: str = ""  # said to the user before tagging (the tiny tagger's tags are meaningless)

    def prepare(self, image: Image.Image) -> torch.Tensor:
        return preprocess(image, self.size, self.mean, self.std)

    @torch.inference_mode()
    def probabilities(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Sigmoid confidences [len(images), len(labels)] (timm returns logits)."""
        if next(self.model.parameters()).device != self.device:
            self.model.to(self.device)
        batch = torch.stack([self.prepare(image) for image in images]).to(self.device)
        return torch.sigmoid(self.model(batch).float()).cpu().numpy()

    def release(self) -> None:
        """Give the GPU memory back: the studio keeps its tagger between runs, and training needs the GPU."""
        if self.device.type == "cuda":
            self.model.to("cpu")
            torch.cuda.empty_cache()


def _load_hub(timm, repo: str) -> tuple[torch.nn.Module, Path]:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        tags = Path(hf_hub_download(repo, TAGS_FILE))  # small: an offline machine finds out here, quickly
        model = timm.create_model(f"hf-hub:{repo}", pretrained=True)
    except LocalEntryNotFoundError as e:  # offline, or the hub unreachable, and not in the cache
        raise TaggerError(_offline_message(repo, e)) from None
    except RepositoryNotFoundError:
        raise TaggerError(f"tagger '{repo}' was not found on the Hugging Face hub (or needs a login); check the "
                          f"id, e.g. SmilingWolf/wd-vit-tagger-v3") from None
    except (OSError, RuntimeError, ValueError, KeyError) as e:  # no selected_tags.csv, not a timm model, ...
        raise TaggerError(f"could not load '{repo}' as a WD tagger ({type(e).__name__}: {str(e)[:200]}); it must "
                          f"publish a timm model and {TAGS_FILE} like SmilingWolf/wd-vit-tagger-v3") from None
    return model, tags


@functools.lru_cache(maxsize=1)  # the studio tags many times with one model; keep the last one loaded (on the CPU)
def load_tagger(model: str = DEFAULT_MODEL, device: str | None = None) -> Tagger:
    """The tagger for `model` (see TagOptions.model) on `device` (CUDA when there is one)."""
    kind, where = model_source(model)
    timm = _timm()
    note = ""
    if kind == "hub":
        net, tags = _load_hub(timm, where)
    else:
        if kind == "tiny":
            from .tiny_tagger import TINY_TAGGER_NOTE, tiny_tagger_path

            where, note = str(tiny_tagger_path()), TINY_TAGGER_NOTE
        try:
            net, tags = timm.create_model(f"local-dir:{where}", pretrained=True), Path(where) / TAGS_FILE
        except (OSError, RuntimeError, ValueError, KeyError) as e:
            raise TaggerError(f"tagger folder '{where}' does not hold a timm model that loads ({type(e).__name__}: "
                              f"{str(e)[:200]}); save it with timm (config.json, model.safetensors)") from None
    labels = read_labels(tags)
    cfg = net.pretrained_cfg
    if cfg.get("num_classes", len(labels.names)) != len(labels.names):
        raise TaggerError(f"tagger '{model}' predicts {cfg.get('num_classes')} tags but its {TAGS_FILE} lists "
                          f"{len(labels.names)}; download it again")
    target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return Tagger(model=net.eval(), labels=labels, size=int(cfg["input_size"][-1]),
                  mean=tuple(cfg.get("mean", (0.5,) * 3)), std=tuple(cfg.get("std", (0.5,) * 3)), device=target,
                  name=where, note=note)
