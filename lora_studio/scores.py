"""Scores that help pick an adapter, after the metrics DreamBooth introduced for this job (Ruiz et al., 2023, §4.1):

- likeness (DINO): mean cosine similarity between a generated picture's DINO ViT-S/16 embedding (the CLS token) and
  those of the run's training pictures. DINO was trained to tell images of different instances apart, so it rewards
  the same character rather than merely the same kind of picture;
- CLIP-I: the same with CLIP image embeddings, reported beside it;
- prompt following (CLIP-T): cosine similarity between the picture's CLIP image embedding and the CLIP text
  embedding of its prompt without the trigger word (a made-up word that means nothing to CLIP).

The models are real hub models, downloaded once into the Hugging Face cache. `tiny` builds random models of the
same classes locally (tests, the `tiny` base): its scores are meaningless, like the `tiny` base's pictures.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from .data import parse_tags
from .errors import UserError
from .text import Text

log = logging.getLogger(__name__)

DINO_ID = "facebook/dino-vits16"  # DINO ViT-S/16 (DreamBooth's DINO score): 21.7 M parameters, about 87 MB
CLIP_ID = "openai/clip-vit-base-patch32"  # CLIP ViT-B/32: 151 M parameters, about 605 MB
SCORERS = ("auto", "real", "tiny")
TINY_SCORER_NOTE = Text("scores.tiny_note")
# How much prompt following (CLIP-T) an adapter may lose against the base model and still be suggested. In
# DreamBooth's Table 1, Stable Diffusion DreamBooth keeps CLIP-T at 0.305 while Textual Inversion, the method the
# paper shows ignoring prompts, drops to 0.255: 0.02 is well under half that 0.05 gap, and above the spread a
# handful of seeds gives the same model.
MARGIN = 0.02
BATCH = 16


@dataclass
class Scorer:
    """The DINO and CLIP models with their preprocessing, on one device."""

    kind: str  # "real" or "tiny"
    dino: torch.nn.Module
    dino_processor: object
    clip: torch.nn.Module
    clip_processor: object
    tokenizer: object
    device: torch.device

    @property
    def meaningless(self) -> bool:
        return self.kind == "tiny"

    @torch.no_grad()
    def image_embeddings(self, images: list) -> tuple[torch.Tensor, torch.Tensor]:
        """(DINO, CLIP) embeddings of PIL images, each row of unit length, on the CPU."""
        dino, clip = [], []
        for start in range(0, len(images), BATCH):
            batch = [im.convert("RGB") for im in images[start:start + BATCH]]
            pixels = self.dino_processor(images=batch, return_tensors="pt")["pixel_values"].to(self.device)
            dino.append(self.dino(pixel_values=pixels).last_hidden_state[:, 0].float().cpu())
            pixels = self.clip_processor(images=batch, return_tensors="pt")["pixel_values"].to(self.device)
            clip.append(_features(self.clip.get_image_features(pixel_values=pixels)).float().cpu())
        return unit(torch.cat(dino)), unit(torch.cat(clip))

    @torch.no_grad()
    def text_embeddings(self, texts: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=77, return_tensors="pt")
        tokens = {k: v.to(self.device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
        return unit(_features(self.clip.get_text_features(**tokens)).float().cpu())


def _features(output) -> torch.Tensor:
    """transformers 5 returns a model output whose pooler_output is the projected embedding; 4.x a tensor."""
    return output if torch.is_tensor(output) else output.pooler_output


def unit(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x.float(), dim=-1)


# ---------------------------------------------------------------- the scores


def likeness(generated: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """Per generated picture: the mean cosine similarity to every reference (training) picture."""
    return (unit(generated) @ unit(references).T).mean(dim=1)


def prompt_following(images: torch.Tensor, texts: torch.Tensor) -> torch.Tensor:
    """Per picture: the cosine similarity between its image embedding and its own prompt's text embedding."""
    return (unit(images) * unit(texts)).sum(dim=1)


def prompt_for_clip(prompt: str, trigger_word: str) -> str:
    """The prompt CLIP-T is measured against: without the trigger word and without <lora:...> tags."""
    tags = [t for t in parse_tags(prompt) if t != trigger_word and not t.startswith("<lora:")]
    return ", ".join(tags)


# ---------------------------------------------------------------- the suggestion


@dataclass
class Candidate:
    """One adapter at one strength, its scores averaged over the prompts."""

    label: str
    likeness: float
    clip_t: float
    step: int = 0  # ties go to the earlier adapter
    row: int = 0  # where it is in the comparison grid
    strength: float = 1.0


@dataclass
class Suggestion:
    candidate: Candidate | None
    within_margin: bool  # False: no adapter kept prompt following within MARGIN; the best-following one is named
    base_clip_t: float
    margin: float

    def line(self) -> str:
        if self.candidate is None:
            return "no adapter to suggest: the run has no saved adapter"
        c = self.candidate
        if self.within_margin:
            return (f"suggested: {c.label}: highest likeness (DINO {c.likeness:.3f}) whose prompt following "
                    f"(CLIP-T {c.clip_t:.3f}) stays within {self.margin} of the base model's ({self.base_clip_t:.3f})")
        return (f"suggested: {c.label}: no adapter keeps prompt following within {self.margin} of the base "
                f"model's ({self.base_clip_t:.3f}), so this is the one that follows prompts best "
                f"(CLIP-T {c.clip_t:.3f}, DINO {c.likeness:.3f}); it is probably overtrained: try a lower strength")


def suggest(candidates: list[Candidate], base_clip_t: float, margin: float = MARGIN) -> Suggestion:
    """The highest likeness among the candidates whose CLIP-T is at least the base's minus `margin` (ties: the
    earlier adapter, which is less likely overtrained); when none qualifies, the best prompt follower."""
    if not candidates:
        return Suggestion(None, False, base_clip_t, margin)
    keep = [c for c in candidates if c.clip_t >= base_clip_t - margin]
    if keep:
        return Suggestion(max(keep, key=lambda c: (c.likeness, -c.step)), True, base_clip_t, margin)
    return Suggestion(max(candidates, key=lambda c: (c.clip_t, -c.step)), False, base_clip_t, margin)


# ---------------------------------------------------------------- loading the models


def resolve_scorer(scorer: str, base: str) -> str:
    """'auto' is 'tiny' for the offline test bases (their pictures are noise anyway) and 'real' otherwise."""
    if scorer not in SCORERS:
        raise UserError("scores.unknown_scorer", scorer=repr(scorer), scorers=", ".join(SCORERS))
    if scorer == "auto":
        return "tiny" if base in ("tiny", "tiny-sdxl") else "real"
    return scorer


def load_scorer(kind: str, device: torch.device | None = None, cache_dir: str | Path | None = None) -> Scorer:
    """The DINO + CLIP scorer: 'real' from the hub (or `cache_dir`, default the Hugging Face cache), 'tiny' built here."""
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    parts = _tiny_models() if kind == "tiny" else _real_models(cache_dir)
    for model in (parts[0], parts[2]):
        model.to(device).eval().requires_grad_(False)
    return Scorer(kind, *parts, device=device)


def _real_models(cache_dir: str | Path | None = None) -> tuple:
    from transformers import CLIPModel, CLIPProcessor, ViTImageProcessor, ViTModel

    where = {"cache_dir": str(cache_dir)} if cache_dir else {}
    try:
        dino = ViTModel.from_pretrained(DINO_ID, add_pooling_layer=False, **where)
        dino_processor = ViTImageProcessor.from_pretrained(DINO_ID, **where)
        clip = CLIPModel.from_pretrained(CLIP_ID, **where)
        processor = CLIPProcessor.from_pretrained(CLIP_ID, **where)
    except (OSError, ValueError) as e:
        raise UserError("scores.offline", dino=DINO_ID, clip=CLIP_ID, kind=type(e).__name__) from None
    return dino, dino_processor, clip, processor.image_processor, processor.tokenizer


def _tiny_models() -> tuple:
    """Random models of the real classes, small and seeded, built here without any download."""
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPTokenizer,
        ViTConfig,
        ViTImageProcessor,
        ViTModel,
    )

    from .models import write_tiny_tokenizer

    with tempfile.TemporaryDirectory() as folder:
        vocab_size = write_tiny_tokenizer(Path(folder))
        tokenizer = CLIPTokenizer.from_pretrained(folder, model_max_length=77)
    side = {"height": 32, "width": 32}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        dino = ViTModel(ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
                                  num_attention_heads=4, intermediate_size=37), add_pooling_layer=False)
        clip = CLIPModel(CLIPConfig(
            text_config=dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                             vocab_size=vocab_size, max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id,
                             eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id),
            vision_config=dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                               image_size=32, patch_size=8),
            projection_dim=16))
    dino_processor = ViTImageProcessor(size=side)
    clip_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size=side)
    return dino, dino_processor, clip, clip_processor, tokenizer
