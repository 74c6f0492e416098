"""The tagger: preprocessing as the WD taggers' model card, thresholds, sorting, ratings, emoticons, offline."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
from conftest import TEST_TAGS
from PIL import Image

from lora_studio.tagger import (
    GENERAL,
    Labels,
    TaggerError,
    TagOptions,
    load_tagger,
    model_source,
    pick_tags,
    preprocess,
    read_labels,
    tag_text,
)

EXPECTED_DEFAULT = ["1girl", "green hair", "^_^", "test girl (lora studio)", "twintails", "blue eyes", "smile",
                    "closed eyes"]


def _card_pad(image: Image.Image) -> Image.Image:
    """pil_ensure_rgb + pil_pad_square as SmilingWolf's wdv3 timm example writes them (the reference)."""
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA") if "transparency" in image.info else image.convert("RGB")
    if image.mode == "RGBA":
        canvas = Image.new("RGBA", image.size, (255, 255, 255))
        canvas.alpha_composite(image)
        image = canvas.convert("RGB")
    side = max(image.size)
    square = Image.new("RGB", (side, side), (255, 255, 255))
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return square


def test_a_known_picture_gives_the_known_tensor():
    # 4 wide, 2 high: pure red, pure green and a half-transparent blue pixel, and a fully transparent one.
    picture = Image.new("RGBA", (4, 2), (0, 0, 0, 0))
    picture.putpixel((0, 0), (255, 0, 0, 255))
    picture.putpixel((1, 0), (0, 255, 0, 255))
    picture.putpixel((2, 1), (0, 0, 255, 128))
    tensor = preprocess(picture, 4, (0.5,) * 3, (0.5,) * 3)
    assert tensor.shape == (3, 4, 4) and tensor.dtype == torch.float32
    # Padded to a square on white: the picture sits in rows 1-2; rows 0 and 3 are white (1.0 after -0.5 / 0.5).
    assert torch.equal(tensor[:, 0], torch.ones(3, 4)) and torch.equal(tensor[:, 3], torch.ones(3, 4))
    # Channel order BGR: the red pixel is (B, G, R) = (-1, -1, 1), the green one (-1, 1, -1).
    assert tensor[:, 1, 0].tolist() == [-1.0, -1.0, 1.0]
    assert tensor[:, 1, 1].tolist() == [-1.0, 1.0, -1.0]
    # Transparency on white: the transparent pixel is white, the half-transparent blue is blended with white.
    assert tensor[:, 1, 3].tolist() == [1.0, 1.0, 1.0]
    blended = [round(v * 127.5 + 127.5) for v in tensor[:, 2, 2].tolist()]
    assert blended[0] == 255 and 126 <= blended[1] <= 128 and blended[1] == blended[2]


def test_preprocessing_matches_the_model_cards_timm_code(test_tagger_folder):
    """The card: pad on white, timm's transform from the model's pretrained_cfg, then RGB -> BGR."""
    timm = pytest.importorskip("timm")
    from timm.data import create_transform, resolve_data_config

    model = timm.create_model(f"local-dir:{test_tagger_folder}", pretrained=True)
    transform = create_transform(**resolve_data_config(model.pretrained_cfg, model=model))
    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(0, 256, (50, 90, 4), dtype=np.uint8), "RGBA")
    expected = transform(_card_pad(picture))[[2, 1, 0]]
    tagger = load_tagger(str(test_tagger_folder))
    assert tagger.size == 32
    assert torch.allclose(tagger.prepare(picture), expected, atol=1e-6)


def test_thresholds_sorting_underscores_and_emoticons(test_tagger_folder):
    tagger = load_tagger(str(test_tagger_folder))
    probs = tagger.probabilities([Image.new("RGB", (40, 20), "gray")])[0]
    assert probs == pytest.approx([1 / (1 + math.exp(-logit)) for *_, logit in TEST_TAGS], abs=1e-6)
    assert [p.tag for p in pick_tags(probs, tagger.labels, TagOptions())] == EXPECTED_DEFAULT
    # Higher thresholds drop tags; the character tag at 0.924 passes 0.9, the other (0.731) never does at 0.85.
    strict = pick_tags(probs, tagger.labels, TagOptions(threshold=0.9, character_threshold=0.9))
    assert [p.tag for p in strict] == ["1girl", "green hair", "^_^", "test girl (lora studio)"]
    loose = [p.tag for p in pick_tags(probs, tagger.labels, TagOptions(character_threshold=0.7))]
    assert "other girl (lora studio)" in loose and "looking at viewer" not in loose


def test_ratings_off_by_default_and_never_write_list(test_tagger_folder):
    tagger = load_tagger(str(test_tagger_folder))
    probs = tagger.probabilities([Image.new("RGB", (8, 8))])[0]
    rated = [p.tag for p in pick_tags(probs, tagger.labels, TagOptions(ratings=True))]
    assert rated[0] == "general" and rated[1:] == EXPECTED_DEFAULT
    assert not {"general", "sensitive"} & set(EXPECTED_DEFAULT)
    # Either spelling excludes a tag.
    kept = [p.tag for p in pick_tags(probs, tagger.labels, TagOptions(exclude="green_hair, Smile,^_^"))]
    assert kept == [t for t in EXPECTED_DEFAULT if t not in ("green hair", "smile", "^_^")]


def test_tag_text_keeps_emoticons():
    assert tag_text("long_hair") == "long hair"
    assert tag_text("^_^") == "^_^" and tag_text("<o>_<o>") == "<o>_<o>" and tag_text("||_||") == "||_||"
    assert tag_text("o_o") == "o_o"


def test_batches_give_one_row_per_picture(test_tagger_folder):
    tagger = load_tagger(str(test_tagger_folder))
    pictures = [Image.new("RGB", (w, h), "white") for w, h in ((10, 30), (64, 64), (90, 20))]
    probs = tagger.probabilities(pictures)
    assert probs.shape == (3, len(TEST_TAGS))


def test_options_are_checked():
    with pytest.raises(TaggerError, match="threshold 1.5 is out of range"):
        TagOptions(threshold=1.5).check()
    with pytest.raises(TaggerError, match="mode 'merge' is unknown: use one of add, replace, keep"):
        TagOptions(mode="merge").check()


def test_model_names(tmp_path):
    assert model_source("wd-vit-tagger-v3") == ("hub", "SmilingWolf/wd-vit-tagger-v3")
    assert model_source("") == ("hub", "SmilingWolf/wd-vit-tagger-v3")
    assert model_source("wd-eva02-large-tagger-v3") == ("hub", "SmilingWolf/wd-eva02-large-tagger-v3")
    assert model_source("someone/my-tagger") == ("hub", "someone/my-tagger")
    assert model_source("tiny") == ("tiny", "tiny")
    with pytest.raises(TaggerError, match="has no config.json or selected_tags.csv"):
        model_source(str(tmp_path))
    for wrong in (str(tmp_path / "missing"), "./missing", "a/b/c"):
        with pytest.raises(TaggerError, match="neither"):
            model_source(wrong)


def test_a_broken_tagger_folder_is_named(tmp_path, test_tagger_folder):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(test_tagger_folder, broken)
    (broken / "config.json").write_text('{"architecture": "no_such_net"}', encoding="utf-8")
    with pytest.raises(TaggerError, match=r"tagger folder '.*broken' does not hold a timm model that loads"):
        load_tagger(str(broken))


def test_bad_tag_list_is_named(tmp_path):
    bad = tmp_path / "selected_tags.csv"
    bad.write_text("tag_id,name,category,count\n0,1girl,zero,5\n", encoding="utf-8")
    with pytest.raises(TaggerError, match=r"selected_tags.csv' line 2"):
        read_labels(bad)
    bad.write_text("id,tag\n", encoding="utf-8")
    with pytest.raises(TaggerError, match="not a WD tagger's selected_tags.csv"):
        read_labels(bad)
    assert Labels(["a", "b"], [GENERAL, 4]).of(GENERAL) == [0]


def test_offline_and_not_cached_names_the_model_and_what_to_do(monkeypatch, tmp_path):
    pytest.importorskip("timm")
    import huggingface_hub.constants as hub

    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    load_tagger.cache_clear()
    with pytest.raises(TaggerError) as caught:
        load_tagger("wd-swinv2-tagger-v3")
    message = str(caught.value)
    assert "'SmilingWolf/wd-swinv2-tagger-v3'" in message and "not in the local Hugging Face cache" in message
    assert "--model tiny" in message


def test_missing_timm_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "timm", None)  # import timm raises ImportError
    load_tagger.cache_clear()
    with pytest.raises(TaggerError, match=r'pip install "lora-studio\[tag\]"'):
        load_tagger("tiny")


def test_tiny_tagger_is_built_once_offline_and_says_its_tags_are_meaningless():
    pytest.importorskip("timm")
    load_tagger.cache_clear()
    tagger = load_tagger("tiny")
    assert "meaningless" in tagger.note
    assert (tagger.labels.of(9) and tagger.labels.of(0) and tagger.labels.of(4))
    probs = tagger.probabilities([Image.new("RGB", (100, 50), "red")])
    assert probs.shape == (1, len(tagger.labels.names)) and ((probs > 0) & (probs < 1)).all()
