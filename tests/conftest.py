"""Tiny components for the tests: the offline `tiny` base, generated images, no network ever."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # tiny models on 2 cores: spinning OpenMP threads only slow tests down

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _lora_studio_cache(tmp_path_factory) -> Path:
    """One cache folder per test session, so the tiny base is built once and never read from $HOME."""
    cache = os.environ.get("LORA_STUDIO_TEST_CACHE") or str(tmp_path_factory.mktemp("lora-studio-cache"))
    os.environ["LORA_STUDIO_CACHE"] = cache
    return Path(cache)


@pytest.fixture(scope="session")
def tiny_base_path(_lora_studio_cache) -> Path:
    from lora_studio.models import tiny_path

    return tiny_path()


@pytest.fixture
def tiny_pipe(tiny_base_path):
    from lora_studio.models import load_pipeline

    return load_pipeline("tiny")


@pytest.fixture
def sample_dataset(tmp_path) -> Path:
    """A small tagged character dataset, drawn by the same code as datasets/sample-character."""
    from lora_studio.sample_data import make_sample_dataset

    return make_sample_dataset(tmp_path / "dataset", count=6, size=96)


# A tiny WD-style tagger: tag list (name, category) with category 9 rating, 0 general, 4 character, and the
# logit each tag gets on every picture (the head ignores the picture), so a test knows every confidence.
TEST_TAGS = [
    ("general", 9, 2.0), ("sensitive", 9, -1.0), ("questionable", 9, -3.0), ("explicit", 9, -4.0),
    ("1girl", 0, 4.0), ("green_hair", 0, 3.0), ("blue_eyes", 0, 1.0), ("smile", 0, 0.0),
    ("^_^", 0, 2.5), ("closed_eyes", 0, -0.5), ("looking_at_viewer", 0, -2.0), ("twintails", 0, 1.5),
    ("test_girl_(lora_studio)", 4, 2.5), ("other_girl_(lora_studio)", 4, 1.0),
]


@pytest.fixture(scope="session")
def test_tagger_folder(tmp_path_factory) -> Path:
    """A timm ViT tagger folder (config.json, model.safetensors, selected_tags.csv) with the TEST_TAGS confidences."""
    pytest.importorskip("timm")  # the optional 'tag' extra (in the 'test' extra too)
    from lora_studio.tiny_tagger import write_tagger_folder

    folder = tmp_path_factory.mktemp("test-tagger")
    return write_tagger_folder(folder, [(name, cat) for name, cat, _ in TEST_TAGS], image_size=32,
                               logits=[logit for *_, logit in TEST_TAGS])
