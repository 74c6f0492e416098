"""MobileNetV2 base (transformers) + a new 1280 -> classes head, the base's "layers", freezing, and the summary.

What a "layer" is here: a leaf module of the base that owns parameters, in forward order -- every Conv2d and
every BatchNorm2d, 104 of them in MobileNetV2 (stem 6, sixteen inverted-residual blocks x 6, final 1x1 conv 2).
Keras also counts parameter-free layers (inputs, ReLUs, paddings, adds: 154 in all). The tutorial's "last 25 %"
unfreezes Keras' layers from block_13_expand_BN on: 37 of 154, or 25 of our 104 -- 24 % in both counts, which is
why the default fraction is 0.24 (it reproduces the tutorial's 1,626,048 trainable base parameters exactly;
0.25 gives 26 layers, adding block 13's expand convolution).
"""

from __future__ import annotations

import contextlib
import logging
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BaseModelError
from .lines import line, pad

log = logging.getLogger(__name__)

TINY_CLASSIFIER = "tiny"  # a small random MobileNetV2 for offline smoke runs (not the diffusion `tiny` base)


# ---------------------------------------------------------------- the base


def build_tiny_base(seed: int = 0):
    """A small MobileNetV2 (depth multiplier 0.35, still 1280 features) with seeded, well-scaled random weights.

    transformers initialises convolutions with std 0.02, which shrinks the signal to ~1e-25 after 50 convolutions.
    He initialisation plus BatchNorm statistics measured on seeded noise images keep the features informative,
    as a pretrained network's statistics would be for its photos.
    """
    from transformers import MobileNetV2Config, MobileNetV2Model

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        base = MobileNetV2Model(MobileNetV2Config(depth_multiplier=0.35, image_size=64))
        for module in base.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        _measure_batchnorm_statistics(base)
        for block in base.layer:
            if block.use_residual:  # zero-init residual: each such block starts as the identity
                block.reduce_1x1.normalization.weight.data.zero_()
    return base.eval()


@torch.no_grad()
def _measure_batchnorm_statistics(base: nn.Module, batches: int = 4, size: int = 64) -> None:
    norms = [m for m in base.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain average over the calibration batches
    base.train()
    for _ in range(batches):
        coarse = torch.rand(16, 3, 8, 8) * 2 - 1
        images = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
        base(pixel_values=(images + 0.1 * torch.randn_like(images)).clamp(-1, 1))
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    base.eval()


@contextlib.contextmanager
def _quiet_transformers():
    """Hide 'some weights were not used' (the ImageNet classifier we drop on purpose)."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def load_base(base: str):
    """The MobileNetV2 feature extractor (no ImageNet classifier): 'tiny', a local folder, or a hub id."""
    from transformers import MobileNetV2Model

    if base == TINY_CLASSIFIER:
        return build_tiny_base()
    path = Path(base).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BaseModelError("lesson_model.no_config", path=path)
        try:
            with _quiet_transformers():
                return MobileNetV2Model.from_pretrained(path).eval()
        except (OSError, ValueError) as e:
            raise BaseModelError("lesson_model.folder_failed", path=path, detail=e) from None
    if base.count("/") != 1 or base.startswith((".", "/", "~")):
        raise BaseModelError("lesson_model.unknown_base", base=base)
    try:
        with _quiet_transformers():
            return MobileNetV2Model.from_pretrained(base).eval()
    except OSError as e:
        raise BaseModelError("lesson_model.offline", base=base, kind=type(e).__name__) from None


# ---------------------------------------------------------------- the classifier


def augment(images: torch.Tensor, flip: bool, rotation: float) -> torch.Tensor:
    """Random left-right flips and rotations up to `rotation` of a full turn (edges filled by reflection, as Keras)."""
    n = images.shape[0]
    if flip:
        flipped = torch.rand(n, device=images.device) < 0.5
        images = torch.where(flipped[:, None, None, None], images.flip(-1), images)
    if rotation > 0:
        angle = (torch.rand(n, device=images.device) * 2 - 1) * rotation * 2 * math.pi
        cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        images = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return images


class LessonClassifier(nn.Module):
    """Pixels 0..255 -> (augment while training) -> [-1, 1] -> MobileNetV2 -> average pool -> new head -> logits."""

    def __init__(self, base: nn.Module, classes: list[str], image_size: int, *, dropout: float = 0.0,
                 flip: bool = True, rotation: float = 0.2) -> None:
        super().__init__()
        self.base = base
        self.classes = list(classes)
        self.image_size = image_size
        self.flip, self.rotation = flip, rotation
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(base.conv_1x1.convolution.out_channels, len(self.classes))

    def train(self, mode: bool = True) -> LessonClassifier:
        """Train the head, but keep the base's BatchNorm in inference mode: its running statistics never change."""
        super().train(mode)
        self.base.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float()
        if self.training:
            x = augment(x, self.flip, self.rotation)
        x = x / 127.5 - 1.0  # the scaling MobileNetV2 was trained with
        features = self.base(pixel_values=x).pooler_output
        return self.head(self.dropout(features))


# ---------------------------------------------------------------- layers and freezing


def base_layers(base: nn.Module) -> list[tuple[str, nn.Module]]:
    """The base's layers: leaf modules that own parameters (Conv2d, BatchNorm2d), in forward order."""
    return [(name, m) for name, m in base.named_modules() if next(m.parameters(recurse=False), None) is not None]


def layers_to_unfreeze(num_layers: int, fraction: float) -> int:
    return min(num_layers, int(fraction * num_layers + 0.5))  # half rounds up: 0.24 of 104 -> 25


def keras_name(name: str) -> str:
    """Keras' name for one of our layers (layer.12.expand_1x1.normalization -> block_13_expand_BN), to compare
    with the tutorial; the name itself when it is not a MobileNetV2 layer."""
    parts = name.split(".")
    bn = parts[-1] == "normalization"
    ops = {"expand_1x1": "expand", "conv_3x3": "depthwise", "reduce_1x1": "project"}
    if parts[0] == "conv_1x1":
        return "Conv_1_bn" if bn else "Conv_1"
    if parts[:2] == ["conv_stem", "first_conv"]:
        return "bn_Conv1" if bn else "Conv1"
    if parts[0] == "conv_stem" and len(parts) == 3 and parts[1] in ops:
        return f"expanded_conv_{ops[parts[1]]}" + ("_BN" if bn else "")
    if parts[0] == "layer" and len(parts) == 4 and parts[1].isdigit() and parts[2] in ops:
        return f"block_{int(parts[1]) + 1}_{ops[parts[2]]}" + ("_BN" if bn else "")
    return name


def block_number(name: str) -> int | None:
    """Keras' block number of a layer: 0 for the stem, 1-16 for layer.0-15, None for the final 1x1 convolution."""
    parts = name.split(".")
    if parts[0] == "conv_stem":
        return 0
    if parts[0] == "layer" and len(parts) > 1 and parts[1].isdigit():
        return int(parts[1]) + 1
    return None


def freeze_base(model: LessonClassifier) -> None:
    """Phase 1: nothing in the base learns, the head does."""
    model.base.requires_grad_(False)
    model.head.requires_grad_(True)


def unfreeze_last_layers(model: LessonClassifier, fraction: float) -> list[str]:
    """Phase 2: the last `fraction` of the base's layers learn too; returns their names."""
    freeze_base(model)
    layers = base_layers(model.base)
    chosen = layers[len(layers) - layers_to_unfreeze(len(layers), fraction):]
    for _, module in chosen:
        module.requires_grad_(True)
    return [name for name, _ in chosen]


def parameter_summary(model: LessonClassifier) -> dict:
    """Counts like Keras' model.summary(), plus the BatchNorm statistics Keras also lists as non-trainable."""
    params = list(model.parameters())
    trainable = sum(p.numel() for p in params if p.requires_grad)
    total = sum(p.numel() for p in params)
    bn_stats = sum(b.numel() for name, b in model.base.named_buffers() if name.endswith(("running_mean", "running_var")))
    layers = base_layers(model.base)
    base = sum(p.numel() for p in model.base.parameters())
    return {
        "total": total,
        "trainable": trainable,
        "non_trainable": total - trainable,
        "base": base,
        "base_trainable": sum(p.numel() for p in model.base.parameters() if p.requires_grad),
        "head": sum(p.numel() for p in model.head.parameters()),
        "batchnorm_statistics": bn_stats,
        # Keras keeps BatchNorm's moving mean/variance as (non-trainable) weights; PyTorch as buffers.
        "keras_base": base + bn_stats,
        "keras_total": total + bn_stats,
        "keras_non_trainable": total - trainable + bn_stats,
        "layers": len(layers),
        "trainable_layers": sum(1 for _, m in layers if any(p.requires_grad for p in m.parameters(recurse=False))),
    }


def format_summary(summary: dict, title: str, lang: str = "en") -> str:
    """The summary as a small table in `lang`, ending with the counts as Keras (and so the tutorial) reports them."""
    s = summary
    rows = [
        (line("row_base", lang), line("row_base_note", lang, n=s["trainable_layers"], layers=s["layers"]), s["base"]),
        (line("row_head", lang), line("row_head_note", lang), s["head"]),
    ]
    lines = [title, "-" * 70]
    lines += [pad(name, 24) + pad(note, 30) + f"{count:>16,}" for name, note, count in rows]
    lines += ["-" * 70]
    lines += [pad(line(key, lang), 24) + f"{s[key]:>14,}" for key in ("total", "trainable", "non_trainable")]
    lines.append(line("keras", lang, stats=f"{s['batchnorm_statistics']:,}", base=f"{s['keras_base']:,}",
                      base_trainable=f"{s['base_trainable']:,}", total=f"{s['keras_total']:,}",
                      trainable=f"{s['trainable']:,}", non_trainable=f"{s['keras_non_trainable']:,}"))
    return "\n".join(lines)
