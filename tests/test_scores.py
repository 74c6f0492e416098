"""The scores on constructed cases: a picture is most like itself, CLIP-T prefers a picture's own prompt, the
suggestion rule on a hand-made table, and the offline message of the real score models."""

from __future__ import annotations

import pytest
import torch
from PIL import Image, ImageDraw

from lora_studio.errors import UserError
from lora_studio.scores import (
    CLIP_ID,
    DINO_ID,
    MARGIN,
    Candidate,
    likeness,
    load_scorer,
    prompt_following,
    prompt_for_clip,
    resolve_scorer,
    suggest,
    unit,
)


def _pictures() -> list[Image.Image]:
    """Three clearly different drawings."""
    pictures = []
    for colour, shape in (("red", "circle"), ("blue", "stripes"), ("green", "square")):
        im = Image.new("RGB", (64, 64), "white")
        draw = ImageDraw.Draw(im)
        if shape == "circle":
            draw.ellipse((8, 8, 56, 56), fill=colour)
        elif shape == "stripes":
            for x in range(0, 64, 12):
                draw.rectangle((x, 0, x + 5, 63), fill=colour)
        else:
            draw.rectangle((16, 16, 48, 48), fill=colour)
        pictures.append(im)
    return pictures


def test_a_picture_is_most_like_itself():
    scorer = load_scorer("tiny")
    pictures = _pictures()
    dino, clip = scorer.image_embeddings(pictures)
    for embeddings in (dino, clip):
        for i in range(len(pictures)):
            against_each = [float(likeness(embeddings[i:i + 1], embeddings[j:j + 1])) for j in range(len(pictures))]
            assert against_each[i] == pytest.approx(1.0, abs=1e-5)
            assert max(range(len(pictures)), key=against_each.__getitem__) == i
    # the mean over references: a reference set that holds the picture scores higher than one without it
    assert float(likeness(dino[:1], dino[:2])) > float(likeness(dino[:1], dino[1:]))


def test_prompt_following_prefers_the_pictures_own_prompt_with_embeddings_set_by_hand():
    texts = unit(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    images = unit(torch.tensor([[0.9, 0.1, 0.2], [0.2, 0.8, 0.1]]))
    own = prompt_following(images, texts)
    unrelated = prompt_following(images, texts.flip(0))
    assert (own > unrelated).all()


def test_prompt_following_with_a_tiny_clip_trained_in_the_test():
    """A few contrastive steps teach the tiny CLIP two picture/prompt pairs; CLIP-T then prefers the own prompt."""
    scorer = load_scorer("tiny", device=torch.device("cpu"))
    pictures, prompts = _pictures()[:2], ["red circle", "blue stripes"]
    clip = scorer.clip.train().requires_grad_(True)
    pixels = scorer.clip_processor(images=pictures, return_tensors="pt")["pixel_values"]
    tokens = scorer.tokenizer(prompts, padding=True, return_tensors="pt")
    optimizer = torch.optim.Adam(clip.parameters(), lr=3e-3)
    torch.manual_seed(0)
    for _ in range(40):
        loss = clip(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask, pixel_values=pixels,
                    return_loss=True).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    clip.eval().requires_grad_(False)
    _, image_emb = scorer.image_embeddings(pictures)
    text_emb = scorer.text_embeddings(prompts)
    own = prompt_following(image_emb, text_emb)
    swapped = prompt_following(image_emb, text_emb.flip(0))
    assert (own > swapped).all(), (own, swapped)


def test_the_suggestion_is_the_most_alike_adapter_that_still_follows_prompts():
    base = 0.30
    table = [
        Candidate("epoch 2", likeness=0.52, clip_t=0.305, step=200),
        Candidate("epoch 4", likeness=0.61, clip_t=0.29, step=400),   # within 0.02 of the base
        Candidate("epoch 6", likeness=0.66, clip_t=0.27, step=600),   # most alike, but ignores the prompts
        Candidate("epoch 8", likeness=0.70, clip_t=0.22, step=800),
    ]
    picked = suggest(table, base)
    assert picked.candidate.label == "epoch 4" and picked.within_margin
    assert picked.line().startswith("suggested: epoch 4: highest likeness") and str(MARGIN) in picked.line()
    # a tie in likeness goes to the earlier adapter
    tie = suggest([Candidate("late", 0.6, 0.3, 900), Candidate("early", 0.6, 0.3, 100)], base)
    assert tie.candidate.label == "early"
    # nobody within the margin: the best prompt follower, said so
    worn = suggest([Candidate("a", 0.7, 0.20, 1), Candidate("b", 0.8, 0.25, 2)], base)
    assert worn.candidate.label == "b" and not worn.within_margin and "no adapter keeps" in worn.line()
    assert suggest([], base).candidate is None


def test_the_prompt_clip_reads_has_no_trigger_word_or_lora_tags():
    assert prompt_for_clip("mychar, 1girl, on a beach, <lora:x:0.8>", "mychar") == "1girl, on a beach"


def test_scorer_choice():
    assert resolve_scorer("auto", "tiny") == "tiny" and resolve_scorer("auto", "tiny-sdxl") == "tiny"
    assert resolve_scorer("auto", "stable-diffusion-v1-5/stable-diffusion-v1-5") == "real"
    with pytest.raises(UserError, match="scorer 'big' is unknown"):
        resolve_scorer("big", "tiny")


def test_real_score_models_offline_say_what_to_do(tmp_path):
    with pytest.raises(UserError) as caught:
        load_scorer("real", cache_dir=tmp_path)  # an empty cache, and the tests run with HF_HUB_OFFLINE=1
    message = str(caught.value)
    assert DINO_ID in message and CLIP_ID in message and "--scorer tiny" in message and "once with internet" in message
