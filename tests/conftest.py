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


def train_tiny_run(root: Path, name: str = "compared", epochs: int = 2) -> Path:
    """A finished tiny run in `root`/outputs with an adapter per epoch (the final one included), as the studio
    lists it; its dataset lives in `root`/datasets."""
    from lora_studio.config import load_config
    from lora_studio.sample_data import make_sample_dataset
    from lora_studio.train import train

    dataset = make_sample_dataset(root / "datasets" / f"{name}-pictures", count=4, size=96)
    run = root / "outputs" / name
    train(load_config(None, [
        f"name={name}", "base=tiny", f"dataset.path={dataset}", "dataset.trigger_word=mychar",
        "dataset.resolution=64", "dataset.bucket_step=32", "lora.rank=2", "lora.alpha=2", "train.learning_rate=1e-3",
        f"train.epochs={epochs}", "train.save_every_n_epochs=1", f"output_dir={run}", "sample.steps=2",
        "sample.every_n_epochs=1",
    ]))
    return run
