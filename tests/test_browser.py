"""The studio in a real browser (Debian's chromium driven by Playwright): upload pictures, edit a tag, train on
the tiny base until the end, generate with the adapter, switch to Japanese. Leaves a screenshot in tmp_path."""

from __future__ import annotations

import re
import shutil
import socket
import zipfile
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.slow]
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

from lora_studio.ui.app import build_app, launch_kwargs  # noqa: E402

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def studio(tmp_path, tiny_base_path):
    root = tmp_path / "studio"
    demo = build_app(root)
    demo.queue()
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                **launch_kwargs(demo))
    yield demo.local_url, root
    demo.close()


@pytest.fixture
def page(tmp_path):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        browser.close()


@pytest.fixture
def uploads(tmp_path) -> dict[str, list[Path]]:
    from lora_studio.sample_data import make_sample_dataset

    folder = make_sample_dataset(tmp_path / "pictures", count=4, size=96)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.pdf").write_bytes(b"%PDF-1.4 not a picture")
    with zipfile.ZipFile(bad / "escape.zip", "w") as zf:
        zf.writestr("../escape.png", b"x")
    return {"good": sorted(folder.glob("mychar_*")), "bad": [bad / "notes.pdf", bad / "escape.zip"]}


def _set_dropdown(page, elem_id: str, value: str) -> None:
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(value)
    box.press("Enter")
    page.locator("body").click(position={"x": 5, "y": 5})


def _set_number(page, elem_id: str, value: int) -> None:
    box = page.locator(f"#{elem_id} input")
    box.fill(str(value))
    box.press("Tab")


def _upload(page, files: list[Path]) -> None:
    links = page.locator("#ds-files a[href*='gradio_api/file=']")
    sync_api.expect(links).to_have_count(0)  # the previous batch was added and cleared
    page.locator("#ds-files input[type=file]").set_input_files([str(p) for p in files])
    # the button reads the files only once each is uploaded (and listed with its download link)
    sync_api.expect(links).to_have_count(len(files), timeout=60_000)


def test_tag_train_generate_in_the_browser(studio, page, uploads, tmp_path):
    url, root = studio
    expect = sync_api.expect
    page.goto(url)
    expect(page.get_by_role("tab", name="1. Dataset")).to_be_visible()
    expect(page.locator("#ds-warnings")).to_contain_text("my-character")  # the page finished loading

    # 1. an empty dataset says so; bad uploads are refused by name
    _set_dropdown(page, "ds-name", "browser-set")
    page.get_by_role("button", name="Open").click()
    expect(page.locator("#ds-warnings")).to_contain_text("has no pictures yet")
    _upload(page, uploads["bad"])
    page.locator("#ds-add").click()
    expect(page.locator("#ds-message")).to_contain_text("notes.pdf", timeout=60_000)
    expect(page.locator("#ds-message")).to_contain_text("../escape.png")
    assert not (root / "datasets" / "escape.png").exists()

    # 2. upload pictures with their tags and a trigger word, then edit one picture's tags
    _upload(page, uploads["good"])
    page.locator("#ds-trigger textarea, #ds-trigger input").first.fill("mychar")
    page.locator("#ds-add").click()
    expect(page.locator("#ds-message")).to_contain_text("Saved 8 file(s)", timeout=60_000)
    expect(page.locator("#ds-warnings")).to_contain_text("4 pictures")
    page.locator("#ds-gallery button.thumbnail-item, #ds-gallery .thumbnail-item").first.click()
    selected = page.locator("#ds-selected textarea, #ds-selected input").first
    expect(selected).to_have_value(re.compile(r"mychar_0\d\.png"))
    picture = selected.input_value()
    page.locator("#ds-tags textarea").fill("mychar, 1girl, edited in the browser")
    page.locator("#ds-save-tags").click()
    expect(page.locator("#ds-message")).to_contain_text("Saved 3 tags")
    caption = (root / "datasets" / "browser-set" / picture).with_suffix(".txt")
    assert caption.read_text() == "mychar, 1girl, edited in the browser\n"

    # 3. train two steps on the tiny base with the quickstart preset
    page.get_by_role("tab", name="2. Train").click()
    expect(page.locator("#tr-base-note")).to_contain_text("random offline test model")
    _set_dropdown(page, "tr-dataset", "browser-set")
    page.locator("#tr-name textarea, #tr-name input").first.fill("browser-run")
    _set_number(page, "tr-length", 2)
    expect(page.locator("#tr-arithmetic")).to_contain_text("4 images")
    expect(page.locator("#tr-arithmetic")).to_contain_text("2 steps")
    page.locator("#tr-start").click()
    expect(page.locator("#tr-message")).to_contain_text("started")
    page.reload()  # the run lives on disk, not in the page: a reloaded page finds it again
    page.get_by_role("tab", name="2. Train").click()
    expect(page.locator("#tr-progress")).to_contain_text("browser-run", timeout=30_000)
    expect(page.locator("#tr-progress")).to_contain_text("finished", timeout=300_000)
    expect(page.locator("#tr-adapters")).to_contain_text(re.compile(r"browser-run\s*\.safetensors"), timeout=30_000)
    expect(page.locator("#tr-samples img").first).to_be_visible()
    assert (root / "outputs" / "browser-run" / "browser-run.safetensors").is_file()

    # 4. generate with the adapter just trained
    page.get_by_role("tab", name="3. Generate").click()
    expect(page.locator("#gen-adapter-1 input")).to_have_value(re.compile("browser-run"))
    expect(page.locator("#gen-suggestions")).to_contain_text("mychar")
    page.locator("#gen-suggestions label", has_text="mychar").first.click()
    expect(page.locator("#gen-prompt textarea")).to_have_value(re.compile(r"^mychar"))
    page.locator("#gen-run").click()
    expect(page.locator("#gen-gallery img").first).to_be_visible(timeout=120_000)
    expect(page.locator("#gen-params textarea")).to_have_value(re.compile("Lora hashes"))
    screenshot = tmp_path / "studio-generate.png"
    page.screenshot(path=str(screenshot), full_page=True)

    # 5. the page switches to Japanese without a reload
    page.locator("#lang-switch label", has_text="日本語").click()
    expect(page.get_by_role("tab", name="2. 学習")).to_be_visible()
    page.get_by_role("tab", name="2. 学習").click()
    expect(page.locator("#tr-progress")).to_contain_text("完了", timeout=15_000)
    page.screenshot(path=str(tmp_path / "studio-train-ja.png"), full_page=True)
    keep = Path(tmp_path.parent / "lora-studio-screenshots")
    keep.mkdir(exist_ok=True)
    for shot in tmp_path.glob("studio-*.png"):
        shutil.copy(shot, keep / shot.name)
    print(f"screenshots: {screenshot} {tmp_path / 'studio-train-ja.png'}")
