"""The offline `tiny` tagger: a timm ViT of the WD taggers' kind with random weights and a small made-up tag list.

It is saved like the hub publishes the real ones (config.json, model.safetensors, selected_tags.csv), built once
into the lora-studio cache like the `tiny` base. It never touches the network; its tags are meaningless and only
prove that the tagging flow works.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import torch

from .atomic import atomic_dir
from .models import cache_root
from .tagger import CHARACTER, GENERAL, RATING, TAGS_FILE, _timm
from .text import Text

TINY_TAGGER_VERSION = "tiny-wd-tagger-v1"
TINY_TAGGER_NOTE = Text("tagger.tiny_note")
TINY_TAGS: list[tuple[str, int]] = [
    ("general", RATING), ("sensitive", RATING), ("questionable", RATING), ("explicit", RATING),
    ("1girl", GENERAL), ("solo", GENERAL), ("long_hair", GENERAL), ("short_hair", GENERAL),
    ("green_hair", GENERAL), ("blue_eyes", GENERAL), ("twintails", GENERAL), ("smile", GENERAL),
    ("open_mouth", GENERAL), ("^_^", GENERAL), ("simple_background", GENERAL), ("white_background", GENERAL),
    ("dress", GENERAL), ("looking_at_viewer", GENERAL),
    ("tiny_character_(lora_studio)", CHARACTER),
]


def write_tags_csv(path: Path, tags: Sequence[tuple[str, int]]) -> None:
    """A tag list in the format of the WD taggers' selected_tags.csv."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["tag_id", "name", "category", "count"])
        for index, (name, category) in enumerate(tags):
            writer.writerow([index, name, category, 1000 - index])


def write_tagger_folder(folder: Path, tags: Sequence[tuple[str, int]], *, image_size: int = 64, seed: int = 0,
                        logits: Sequence[float] | None = None) -> Path:
    """Save a tiny WD-style ViT (random weights from `seed`) and its tag list to `folder`.

    `logits` fixes the output whatever the picture (head weights zero, bias = logits): tests use it to know
    the confidences exactly."""
    timm = _timm()
    args = dict(img_size=image_size, patch_size=16, embed_dim=32, depth=2, num_heads=2, num_classes=len(tags),
                class_token=False, global_pool="avg", fc_norm=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = timm.create_model("vit_base_patch16_224", pretrained=False, **args)
    with torch.no_grad():
        if logits is not None:
            model.head.weight.zero_()
            model.head.bias.copy_(torch.tensor(list(logits), dtype=torch.float32))
        else:  # it "recognises" its made-up character on every picture, so the pruning step has one to show
            for index, (_, category) in enumerate(tags):
                model.head.bias[index] += 4.0 if category == CHARACTER else 0.0
    folder.mkdir(parents=True, exist_ok=True)
    # The WD taggers' own pretrained_cfg: whole picture (crop_pct 1), bicubic, mean = std = 0.5.
    # (Set on the model itself: every timm >= 1.0.20 saves the model's pretrained_cfg.)
    model.pretrained_cfg = {**model.pretrained_cfg, "input_size": (3, image_size, image_size), "crop_pct": 1.0,
                            "interpolation": "bicubic", "mean": (0.5,) * 3, "std": (0.5,) * 3,
                            "num_classes": len(tags), "tag": "lora-studio-tiny", "license": "apache-2.0"}
    timm.models.save_for_hf(model, str(folder), model_args=args, safe_serialization=True)
    write_tags_csv(folder / TAGS_FILE, tags)
    return folder


def tiny_tagger_path() -> Path:
    """The tiny tagger's folder, built once into the cache (atomically, so a crash leaves no half copy)."""
    folder = cache_root() / TINY_TAGGER_VERSION
    if not (folder / TAGS_FILE).is_file():
        with atomic_dir(folder) as tmp:
            write_tagger_folder(tmp, TINY_TAGS)
            (tmp / "LORA_STUDIO_TINY.txt").write_text(TINY_TAGGER_NOTE + "\n", encoding="utf-8")
    return folder
