"""Tiny components for the tests: the offline `tiny` base, generated images, no network ever."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["LORA_STUDIO_LANG"] = "en"  # the tests read the English messages, whatever this machine's locale
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


# ---------------------------------------------------------------- the studio and a browser, shared by the UI tests

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]
# A slow, busy machine takes far longer than Playwright's 5 s default to draw a state; every wait is for a state.
EXPECT_TIMEOUT_MS = 90_000


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def start_studio(tiny_base_path):
    """start_studio(root, **launch) -> the running studio for `root` on a free local port; all are closed at the
    end of the session. Tests that need a clean studio give it their own root."""
    from lora_studio.ui.app import build_app, launch_kwargs, wait_until_served

    started = []

    def start(root: Path, **launch):
        demo = build_app(root)
        demo.queue()
        # gradio's own check that the page answers gives up after one 3 s request, which a busy machine misses
        # ("When localhost is not accessible..."): skip it and wait for the page here instead.
        demo.launch(server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True, quiet=True,
                    _frontend=False, **launch_kwargs(demo), **launch)
        started.append(demo)
        wait_until_served(demo.local_url)
        return demo

    yield start
    for demo in started:
        if demo.is_running:  # a test may have closed its own
            demo.close()


@pytest.fixture(scope="session")
def chromium():
    """One headless chromium for the whole session (starting it is the slow part); each test gets its own context."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    sync_api.expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh page (its own cookies and localStorage) in English, 1400 x 1000."""
    context = chromium.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(EXPECT_TIMEOUT_MS)
    yield page
    context.close()


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
