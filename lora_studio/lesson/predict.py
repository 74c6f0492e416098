"""Save the trained classifier (safetensors + JSON), load it back without the network, classify photos."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from ..atomic import atomic_path, write_text_atomic
from ..errors import UserError
from .data import load_image
from .model import LessonClassifier

MODEL_FILE = "model.safetensors"
MODEL_CONFIG_FILE = "model_config.json"
FORMAT = "lora-studio-lesson-classifier-v1"


def save_lesson_model(model: LessonClassifier, run_dir: str | Path, base: str = "") -> Path:
    """Write `model.safetensors` (every weight and BatchNorm statistic) and `model_config.json` into `run_dir`."""
    from safetensors.torch import save_file

    run_dir = Path(run_dir)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    meta = {
        "format": FORMAT,
        "base": base,
        "classes": model.classes,
        "image_size": model.image_size,
        "dropout": model.dropout.p,
        "base_config": model.base.config.to_dict(),
    }
    # Config first: a folder with weights always has the config that reads them.
    write_text_atomic(run_dir / MODEL_CONFIG_FILE, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    with atomic_path(run_dir / MODEL_FILE) as tmp:
        save_file(state, str(tmp), metadata={"format": FORMAT})
    return run_dir / MODEL_FILE


def load_lesson_model(run_dir: str | Path, device: str | torch.device = "cpu") -> LessonClassifier:
    """The classifier saved in `run_dir`, in inference mode; needs no network (the base is rebuilt from its config)."""
    from safetensors.torch import load_file
    from transformers import MobileNetV2Config, MobileNetV2Model

    run_dir = Path(run_dir)
    config_path, weights_path = run_dir / MODEL_CONFIG_FILE, run_dir / MODEL_FILE
    if not config_path.is_file() or not weights_path.is_file():
        raise UserError("lesson_model.no_model", run_dir=run_dir, model=MODEL_FILE, config=MODEL_CONFIG_FILE)
    try:
        meta = json.loads(config_path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"format is {meta.get('format')!r}, expected {FORMAT!r}")
        base_config = dict(meta["base_config"])
        base_config.pop("transformers_version", None)
        base = MobileNetV2Model(MobileNetV2Config(**{k: v for k, v in base_config.items() if k != "model_type"}))
        model = LessonClassifier(base, meta["classes"], int(meta["image_size"]), dropout=float(meta["dropout"]))
        model.load_state_dict(load_file(str(weights_path)))
    except (KeyError, TypeError, ValueError, RuntimeError, OSError) as e:
        raise UserError("lesson_model.model_failed", run_dir=run_dir, detail=e) from None
    return model.to(device).eval()


@torch.inference_mode()
def predict(model: LessonClassifier, images: Sequence[str | Path | Image.Image],
            batch_size: int = 32) -> list[tuple[str, float]]:
    """(label, probability) per image. A file that is not an image raises UserError naming it."""
    model.eval()
    device = next(model.parameters()).device
    pixels = [load_image(img, model.image_size) for img in images]
    results: list[tuple[str, float]] = []
    for start in range(0, len(pixels), batch_size):
        batch = torch.stack(pixels[start:start + batch_size]).to(device)
        probs = model(batch).float().softmax(dim=1).cpu()
        best, index = probs.max(dim=1)
        results += [(model.classes[i], float(p)) for i, p in zip(index.tolist(), best.tolist(), strict=True)]
    return results
