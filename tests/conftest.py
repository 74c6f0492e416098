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


@pytest.fixture
def cached_sdxl_configs(tmp_path, monkeypatch, _lora_studio_cache) -> Path:
    """A Hugging Face cache holding stabilityai/stable-diffusion-xl-base-1.0's small config and tokenizer files (no
    weights), as `huggingface-cli download ... --exclude '*.safetensors'` leaves it: here tiny-sdxl's, so a
    single-file checkpoint made from tiny-sdxl loads offline through the real loader."""
    import shutil

    import huggingface_hub.constants

    from lora_studio.models import TINY_SDXL, tiny_path

    hub = tmp_path / "hub"
    repo = hub / "models--stabilityai--stable-diffusion-xl-base-1.0"
    snapshot = repo / "snapshots" / ("0" * 40)
    source = tiny_path(TINY_SDXL)
    for path in source.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".txt"):
            target = snapshot / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    return hub


@pytest.fixture
def tiny_sdxl_single_file(tmp_path) -> Path:
    """tiny-sdxl saved as one original-layout .safetensors (how Illustrious, NoobAI and Pony are downloaded)."""
    from safetensors.torch import save_file
    from sgm_layout import sdxl_single_file_state

    from lora_studio.models import load_pipeline

    path = tmp_path / "tiny-illustrious.safetensors"
    save_file(sdxl_single_file_state(load_pipeline("tiny-sdxl")), str(path))
    return path
