"""VAE latents and text embeddings, computed once so the VAE and text encoder can leave the GPU.

Latents are cached for both orientations when flip augmentation is on. On disk (`dataset.cache: disk`) an
entry is keyed by the image's fingerprint (image bytes, caption, bucket), the base model and the dtype, so a re-run
reuses it and a changed image or caption gets a fresh one.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .atomic import atomic_path
from .conditioning import PromptEncoder
from .data import ImageItem, dataset_fingerprint, image_to_tensor, load_image

log = logging.getLogger(__name__)


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


class LatentCache:
    """Scaled VAE latents per image (and per flipped image), kept on the CPU."""

    def __init__(self, items: list[ImageItem], *, base: str, flip: bool, disk_dir: Path | None = None) -> None:
        self.items, self.base, self.flip, self.disk_dir = items, base, flip, disk_dir
        self.latents: list[torch.Tensor] = []
        self.flipped: list[torch.Tensor | None] = []

    @torch.no_grad()
    def build(self, vae, device: torch.device, dtype: torch.dtype) -> int:
        """Encode every image not on disk yet; returns how many were encoded (0 means all came from the cache)."""
        encoded = 0
        vae_dtype = next(vae.parameters()).dtype
        for item in self.items:
            entry = self._path(item, dtype)
            if entry is not None and entry.exists():
                saved = load_file(entry)
                if self.flip and "flipped" not in saved:  # cached earlier without flip: encode again
                    saved = None
                if saved is not None:
                    self.latents.append(saved["latent"])
                    self.flipped.append(saved.get("flipped"))
                    continue
            image = load_image(item.path)
            pixels = [image_to_tensor(image, item.bucket, flip=False)]
            if self.flip:
                pixels.append(image_to_tensor(image, item.bucket, flip=True))
            batch = torch.stack(pixels).to(device, vae_dtype)
            latent = vae.encode(batch).latent_dist.mode() * vae.config.scaling_factor
            latent = latent.to("cpu", dtype).contiguous()
            self.latents.append(latent[0].clone())
            self.flipped.append(latent[1].clone() if self.flip else None)
            encoded += 1
            if entry is not None:
                tensors = {"latent": self.latents[-1]}
                if self.flip:
                    tensors["flipped"] = self.flipped[-1]
                with atomic_path(entry) as tmp:
                    save_file(tensors, str(tmp))
        return encoded

    def _path(self, item: ImageItem, dtype: torch.dtype) -> Path | None:
        if self.disk_dir is None:
            return None
        # The dtype is part of the key: a float32 run must not reuse latents a bf16 run rounded.
        return self.disk_dir / "latents" / f"{_key(self.base, str(dtype), dataset_fingerprint(item))}.safetensors"

    def get(self, index: int, flipped: bool) -> torch.Tensor:
        if flipped and self.flipped[index] is not None:
            return self.flipped[index]
        return self.latents[index]


class TextEmbeddingCache:
    """Text-encoder outputs per caption. With deterministic captions every embedding is made up front and
    the encoders can leave the GPU; with shuffled tags the encoders stay and encode each step.
    An entry is (hidden states, pooled output or None): SDXL also conditions on the pooled output."""

    def __init__(self, encoder: PromptEncoder, *, base: str, disk_dir: Path | None = None) -> None:
        self.encoder, self.base, self.disk_dir = encoder, base, disk_dir
        self.memo: dict[str, tuple[torch.Tensor, torch.Tensor | None]] = {}

    def precompute(self, captions: list[str], dtype: torch.dtype) -> None:
        for caption in dict.fromkeys(captions):
            if caption in self.memo:
                continue
            entry = self.disk_dir / "text" / f"{_key(self.base, str(dtype), caption)}.safetensors" if self.disk_dir else None
            if entry is not None and entry.exists():
                saved = load_file(entry)
                self.memo[caption] = (saved["embedding"], saved.get("pooled"))
                continue
            hidden, pooled = self.encoder.encode([caption])
            self.memo[caption] = (hidden[0].to("cpu", dtype).contiguous(),
                                  None if pooled is None else pooled[0].to("cpu", dtype).contiguous())
            if entry is not None:
                tensors = {"embedding": self.memo[caption][0]}
                if pooled is not None:
                    tensors["pooled"] = self.memo[caption][1]
                with atomic_path(entry) as tmp:
                    save_file(tensors, str(tmp))

    def get(self, captions: list[str], device: torch.device, dtype: torch.dtype,
            ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if all(c in self.memo for c in captions):
            entries = [self.memo[c] for c in captions]
            hidden = torch.stack([e[0] for e in entries]).to(device, dtype, non_blocking=True)
            pooled = None if entries[0][1] is None else torch.stack([e[1] for e in entries]).to(device, dtype)
            return hidden, pooled
        hidden, pooled = self.encoder.encode(captions)
        return hidden.to(device, dtype), None if pooled is None else pooled.to(device, dtype)
