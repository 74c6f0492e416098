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
            raise TaggerError("tagger.bad_tag_list_header", path=path)
        for line, row in enumerate(reader, start=2):
            try:
                names.append(row[1])
                categories.append(int(row[2]))
            except (IndexError, ValueError):
                raise TaggerError("tagger.bad_tag_list_line", path=path, line=line) from None
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
        raise TaggerError("tagger.needs_timm") from None
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
            raise TaggerError("tagger.folder_incomplete", path=path, missing=" or ".join(missing), tags=TAGS_FILE)
        return "folder", str(path)
    if model.count("/") == 1 and not model.startswith((".", "/", "~")):
        return "hub", model
    raise TaggerError("tagger.unknown_model", model=model, models=", ".join(HUB_MODELS))


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
        raise TaggerError("tagger.offline", repo=repo, kind=type(e).__name__, tags=TAGS_FILE) from None
    except RepositoryNotFoundError:
        raise TaggerError("tagger.not_on_hub", repo=repo) from None
    except (OSError, RuntimeError, ValueError, KeyError) as e:  # no selected_tags.csv, not a timm model, ...
        raise TaggerError("tagger.not_a_tagger", repo=repo, kind=type(e).__name__, detail=str(e)[:200],
                          tags=TAGS_FILE) from None
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
            raise TaggerError("tagger.folder_not_loading", where=where, kind=type(e).__name__,
                              detail=str(e)[:200]) from None
    labels = read_labels(tags)
    cfg = net.pretrained_cfg
    if cfg.get("num_classes", len(labels.names)) != len(labels.names):
        raise TaggerError("tagger.tag_count_differs", model=model, predicts=cfg.get("num_classes"), tags=TAGS_FILE,
                          lists=len(labels.names))
    target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return Tagger(model=net.eval(), labels=labels, size=int(cfg["input_size"][-1]),
                  mean=tuple(cfg.get("mean", (0.5,) * 3)), std=tuple(cfg.get("std", (0.5,) * 3)), device=target,
                  name=where, note=note)
