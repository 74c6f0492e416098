"""The studio in a real browser (Debian's chromium driven by Playwright): upload pictures, edit a tag, train on
the tiny base until the end, generate with the adapter, switch to Japanese. Leaves a screenshot in tmp_path."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.slow]
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def studio(tmp_path, start_studio):
    root = tmp_path / "studio"
    return start_studio(root).local_url, root


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
    sync_api.expect(links).to_have_count(len(files))


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
    expect(page.locator("#ds-message")).to_contain_text("notes.pdf")
    expect(page.locator("#ds-message")).to_contain_text("../escape.png")
    assert not (root / "datasets" / "escape.png").exists()

    # 2. upload pictures with their tags and a trigger word, then edit one picture's tags
    _upload(page, uploads["good"])
    page.locator("#ds-trigger textarea, #ds-trigger input").first.fill("mychar")
    page.locator("#ds-add").click()
    expect(page.locator("#ds-message")).to_contain_text("Saved 4 picture(s) and 4 tag file(s)")
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

    # 3. train two steps on the tiny base with the quickstart preset; an earlier failed try holds the name, so the
    # run is browser-run-2, and the page says so where the name was typed
    (root / "outputs" / "browser-run").mkdir(parents=True)
    (root / "outputs" / "browser-run" / "train.log").write_text("error: out of memory\n")
    page.get_by_role("tab", name="2. Train").click()
    expect(page.locator("#tr-base-note")).to_contain_text("random offline test model")
    _set_dropdown(page, "tr-dataset", "browser-set")
    page.locator("#tr-name textarea, #tr-name input").first.fill("browser-run")
    _set_number(page, "tr-length", 2)
    expect(page.locator("#tr-arithmetic")).to_contain_text("4 images")
    expect(page.locator("#tr-arithmetic")).to_contain_text("ends the run early, at step 2")
    page.locator("#tr-start").click()
    expect(page.locator("#tr-message")).to_contain_text("started")
    expect(page.locator("#tr-name textarea, #tr-name input").first).to_have_value("browser-run-2")
    page.set_viewport_size({"width": 480, "height": 1000})  # a narrow window: the log's long lines wrap
    page.reload()  # the run lives on disk, not in the page: a reloaded page finds it again
    page.get_by_role("tab", name="2. Train").click()
    expect(page.locator("#tr-progress")).to_contain_text("browser-run-2")
    expect(page.locator("#tr-progress")).to_contain_text("finished", timeout=300_000)
    expect(page.locator("#tr-adapters")).to_contain_text(re.compile(r"browser-run-2\s*\.safetensors"))
    link = page.locator("#tr-adapters a").first  # a download link, with no "x" that would hide it
    expect(page.locator("#tr-adapters button")).to_have_count(0)
    adapter = root / "outputs" / "browser-run-2" / "browser-run-2.safetensors"
    assert httpx.get(url + link.get_attribute("href")).content == adapter.read_bytes()
    expect(page.locator("#tr-samples img").first).to_be_visible()
    assert (root / "outputs" / "browser-run-2" / "browser-run-2.safetensors").is_file()
    # the log shows its last lines: it overflows its box and is scrolled to the end
    log = page.locator("#tr-log textarea")
    expect(log).to_have_value(re.compile(r"finished"))
    page.wait_for_function("""() => { const t = document.querySelector('#tr-log textarea');
        return t.scrollHeight > t.clientHeight + 20 && t.scrollHeight - t.scrollTop - t.clientHeight < 8; }""")
    page.set_viewport_size({"width": 1400, "height": 1000})

    # 4. generate with the adapter just trained
    page.get_by_role("tab", name="3. Generate").click()
    expect(page.locator("#gen-adapter-1 input")).to_have_value(re.compile("browser-run"))
    expect(page.locator("#gen-suggestions")).to_contain_text("mychar")
    page.locator("#gen-suggestions label", has_text="mychar").first.click()
    expect(page.locator("#gen-prompt textarea")).to_have_value(re.compile(r"^mychar"))
    page.locator("#gen-run").click()
    expect(page.locator("#gen-gallery img").first).to_be_visible(timeout=120_000)
    expect(page.locator("#gen-params textarea")).to_have_value(re.compile("Lora hashes"))
    # the caption under the picture is short (its seed); the whole parameter text is in the box below
    expect(page.locator("#gen-gallery")).to_contain_text(re.compile(r"seed \d+"))
    expect(page.locator("#gen-gallery")).not_to_contain_text("Negative prompt")
    screenshot = tmp_path / "studio-generate.png"
    page.screenshot(path=str(screenshot), full_page=True)

    # 5. the page switches to Japanese without a reload
    page.locator("#lang-switch label", has_text="日本語").click()
    expect(page.get_by_role("tab", name="2. 学習")).to_be_visible()
    page.get_by_role("tab", name="2. 学習").click()
    expect(page.locator("#tr-progress")).to_contain_text("完了")
    expect(page.locator("#tr-progress")).to_contain_text("損失")
    expect(page.locator("#tr-runs")).to_contain_text("状態")
    expect(page.locator("#tr-runs")).to_contain_text("完了")
    expect(page.locator("#tr-preset input")).to_have_value("お試し（tiny・オフライン）")
    page.get_by_role("tab", name="1. データセット").click()
    expect(page.locator("#ds-freq")).to_contain_text("タグ")
    _upload(page, uploads["bad"][:1])
    page.locator("#ds-add").click()
    expect(page.locator("#ds-message")).to_contain_text("何も保存されませんでした")
    expect(page.locator("#ds-message")).to_contain_text("notes.pdf")
    expect(page.locator("#ds-message")).to_contain_text("保存しませんでした")
    page.get_by_role("tab", name="2. 学習").click()
    page.screenshot(path=str(tmp_path / "studio-train-ja.png"), full_page=True)
    keep = Path(tmp_path.parent / "lora-studio-screenshots")
    keep.mkdir(exist_ok=True)
    for shot in tmp_path.glob("studio-*.png"):
        shutil.copy(shot, keep / shot.name)
    print(f"screenshots: {screenshot} {tmp_path / 'studio-train-ja.png'}")




def test_compare_a_run_and_send_an_adapter_to_generate(tmp_path, tiny_base_path, page, start_studio):
    from tests.conftest import train_tiny_run

    root = tmp_path / "studio"
    train_tiny_run(root, "compared", epochs=2)
    demo = start_studio(root)
    expect = sync_api.expect
    try:
        page.goto(demo.local_url)
        # the Train tab shows the run's samples as a grid labelled by epoch
        page.get_by_role("tab", name="2. Train").click()
        expect(page.locator("#tr-progress")).to_contain_text("compared", timeout=30_000)
        expect(page.locator("#tr-samples")).to_contain_text("epoch 2 · step 8 · prompt 1", timeout=30_000)

        page.get_by_role("tab", name="2b. Compare").click()
        expect(page.locator("#cmp-run input")).to_have_value("compared", timeout=30_000)
        page.locator("#cmp-strengths textarea").fill("0.5, 1")
        page.locator("#cmp-prompts textarea").fill("mychar, smile")
        page.locator("#cmp-start").click()
        expect(page.locator("#cmp-progress")).to_contain_text(re.compile(r"Drawing picture|Scoring|Done"))
        # 3 rows (the base model, epoch 1, the final epoch 2) x 2 strengths, then the scores and the suggestion
        expect(page.locator("#cmp-progress")).to_contain_text("Done", timeout=120_000)
        expect(page.locator("#cmp-gallery img")).to_have_count(6)
        expect(page.locator("#cmp-suggestion")).to_contain_text("Suggested: ")
        expect(page.locator("#cmp-suggestion")).to_contain_text("meaningless")
        expect(page.locator("#cmp-table")).to_contain_text("likeness (DINO)")
        expect(page.locator("#cmp-gallery")).to_contain_text("★")
        expect(page.locator("#cmp-gallery")).to_contain_text("CLIP-T")
        expect(page.locator("#cmp-grid img")).to_be_visible()  # the labelled grid.png
        page.locator("#cmp-gallery button img").nth(2).click()  # epoch 1 at strength 0.5
        expect(page.locator("#cmp-picked")).to_contain_text("compared-000001.safetensors at strength 0.5")
        page.locator("#cmp-send").click()
        expect(page.get_by_role("tab", name="3. Generate")).to_have_attribute("aria-selected", "true", timeout=30_000)
        expect(page.locator("#gen-adapter-1 input")).to_have_value(re.compile("compared-000001"), timeout=30_000)
        expect(page.locator("#gen-prompt textarea")).to_have_value("mychar, smile")
        expect(page.locator("#gen-run")).to_be_visible()  # the Generate tab opened
        page.screenshot(path=str(tmp_path / "studio-compare.png"), full_page=True)
        # the same view in Japanese
        page.locator("#lang-switch label", has_text="日本語").click()
        page.get_by_role("tab", name="2b. 比較").click()
        expect(page.locator("#cmp-start")).to_contain_text("アダプターを比較")
    finally:
        demo.close()


def test_language_switch_relabels_every_tab_and_is_kept(studio, page):
    url, _ = studio
    expect = sync_api.expect
    page.goto(url)
    expect(page.locator("#ds-warnings")).to_contain_text("has no pictures yet")
    expect(page.get_by_role("tab")).to_have_text(["1. Dataset", "2. Train", "2b. Compare", "3. Generate", "4. Lesson"])
    page.locator("#lang-switch label", has_text="日本語").click()
    expect(page.get_by_role("tab", name="4. レッスン")).to_be_visible()  # a tab never opened
    expect(page.get_by_role("tab")).to_have_text(["1. データセット", "2. 学習", "2b. 比較", "3. 生成", "4. レッスン"])
    expect(page.locator("#ds-warnings")).to_contain_text("まだ画像がありません")  # a text the server made
    page.reload()  # the choice is kept
    expect(page.locator("#ds-warnings")).to_contain_text("まだ画像がありません")
    expect(page.get_by_role("tab", name="3. 生成")).to_be_visible()
    expect(page.get_by_role("tab")).to_have_text(["1. データセット", "2. 学習", "2b. 比較", "3. 生成", "4. レッスン"])
    page.locator("#lang-switch label", has_text="English").click()
    expect(page.get_by_role("tab", name="2. Train")).to_be_visible()
    expect(page.get_by_role("tab")).to_have_text(["1. Dataset", "2. Train", "2b. Compare", "3. Generate", "4. Lesson"])


def test_dataset_tab_acts_on_the_dataset_it_shows(studio, page):
    import os
    import time

    from PIL import Image

    from lora_studio.sample_data import make_sample_dataset

    url, root = studio
    expect = sync_api.expect
    old = make_sample_dataset(root / "datasets" / "aaa-old", count=3, size=96)
    Image.new("RGB", (40, 40), "red").save(old / "tiny.png")  # skipped by training
    (old / "tiny.txt").write_text("mychar, red")
    past = time.time() - 3600
    for path in [*old.iterdir(), old]:
        os.utime(path, (past, past))
    make_sample_dataset(root / "datasets" / "mine", count=5, size=96)
    for path in (root / "datasets" / "mine").glob("*.txt"):
        path.write_text(path.read_text().replace("mychar", "minechar"))

    # the most recently changed dataset opens, and the Train tab starts from it and its trigger word
    page.goto(url)
    expect(page.locator("#ds-warnings")).to_contain_text("5 pictures in dataset mine")
    page.get_by_role("tab", name="2. Train").click()
    expect(page.locator("#tr-dataset input")).to_have_value("mine")
    expect(page.locator("#tr-trigger input, #tr-trigger textarea").first).to_have_value("minechar")
    expect(page.locator("#tr-preset input")).to_have_value("quick test (tiny, offline)")
    expect(page.locator("#tr-arithmetic")).to_contain_text("5 images")

    # the hub choice asks for the id beside the step count, and forgets it once typed
    page.locator("#tr-base-kind label", has_text="Hugging Face hub id").click()
    expect(page.locator("#tr-base-note")).to_contain_text("type the hub id")
    expect(page.locator("#tr-arithmetic")).to_contain_text("5 images")
    page.locator("#tr-base-path textarea").click()
    page.keyboard.type("owner/model")
    expect(page.locator("#tr-base-note")).not_to_contain_text("type the hub id")
    expect(page.locator("#tr-base-note")).to_contain_text("Hugging Face cache")
    # an out-of-range number names its field, and gradio's own bound check never answers
    _set_number(page, "tr-learning-rate", -1)
    expect(page.locator("#tr-arithmetic")).to_contain_text("Learning rate (train.learning_rate): -1.0 is too small")
    _set_number(page, "tr-length", 3)
    expect(page.locator("#tr-arithmetic")).to_contain_text("Learning rate")
    expect(page.get_by_text("is less than minimum")).to_have_count(0)

    # typing another name and pressing Enter opens it; picture clicks then act on that one
    page.get_by_role("tab", name="1. Dataset").click()
    _set_dropdown(page, "ds-name", "newchar")
    expect(page.locator("#ds-warnings")).to_contain_text("Dataset newchar has no pictures yet")
    expect(page.locator("#ds-gallery .thumbnail-item")).to_have_count(0)
    _set_dropdown(page, "ds-name", "aaa-old")
    expect(page.locator("#ds-warnings")).to_contain_text("3 pictures in dataset aaa-old")
    page.locator("#ds-gallery .thumbnail-item").first.click()
    expect(page.locator("#ds-tags textarea")).to_have_value(re.compile(r"^mychar, "))
    expect(page.get_by_text("is not in dataset")).to_have_count(0)

    # the skipped picture is listed and can be removed; bulk edits count only the pictures shown
    expect(page.locator("#ds-skipped")).to_contain_text("tiny.png")
    expect(page.locator("#ds-warnings")).to_contain_text("bucket_step 64")
    page.locator("#ds-bulk textarea, #ds-bulk input").first.fill("solo-added")
    page.locator("#ds-add-all").click()
    expect(page.locator("#ds-message")).to_contain_text("Changed the tags of 3 picture(s)")
    page.locator("#ds-remove-skipped").click()
    expect(page.locator("#ds-message")).to_contain_text("Removed 1 picture(s)")
    expect(page.locator("#ds-skipped")).to_be_hidden()
    assert not (old / "tiny.png").exists() and not (old / "tiny.txt").exists()
    assert len(list(old.glob("*.png"))) == 3


def test_tag_automatically_prune_and_undo(studio, page):
    from lora_studio.sample_data import make_sample_dataset

    url, root = studio
    expect = sync_api.expect
    folder = make_sample_dataset(root / "datasets" / "untagged", count=3, size=96)
    for caption in folder.glob("mychar_*.txt"):
        caption.unlink()  # a beginner's pictures: no tags at all
    page.goto(url)
    expect(page.locator("#ds-warnings")).to_contain_text("3 pictures in dataset untagged", timeout=60_000)

    page.locator("#ds-tagger").get_by_text("Tag automatically").first.click()  # opens the section
    _set_dropdown(page, "ds-tag-model", "tiny")
    expect(page.locator("#ds-tag-model input")).to_have_value("tiny")
    page.locator("#ds-trigger textarea, #ds-trigger input").first.fill("mychar")
    page.locator("#ds-tag-exclude textarea, #ds-tag-exclude input").first.fill("solo")
    page.locator("#ds-tag-run").click()
    expect(page.locator("#ds-message")).to_contain_text("Tagged 3 of 3 picture(s) with tiny", timeout=120_000)
    expect(page.locator("#ds-message")).to_contain_text("its tags are meaningless")
    expect(page.locator("#ds-tagger")).to_contain_text("competes with the trigger word")  # why pruning helps
    # the gallery's tag counts and the pruning step follow
    expect(page.locator("#ds-freq")).to_contain_text("twintails", timeout=30_000)
    choices = page.locator("#ds-prune-tags label")
    expect(choices.filter(has_text="twintails: 3 of 3 pictures (hairstyle)")).to_be_visible(timeout=30_000)
    expect(choices.filter(has_text="tiny character (lora studio): 3 of 3 pictures (character)")).to_be_visible()
    expect(choices.filter(has_text="smile")).to_have_count(0)
    assert all(p.read_text().startswith("mychar, ") and "solo" not in p.read_text() for p in folder.glob("*_0*.txt"))

    # keep typing "blue eyes": uncheck it, remove the others with one click
    choices.filter(has_text="blue eyes: 3 of 3").click()
    page.locator("#ds-prune-run").click()
    expect(page.locator("#ds-message")).to_contain_text("from 3 picture(s)", timeout=30_000)
    captions = [p.read_text() for p in folder.glob("mychar_*.txt")]
    assert all("blue eyes" in c and "twintails" not in c and "green hair" not in c for c in captions)
    expect(page.locator("#ds-prune-note")).to_contain_text("1 tag(s) describe the character", timeout=30_000)

    page.locator("#ds-tag-undo").click()
    expect(page.locator("#ds-message")).to_contain_text("Put back the tags of 3 picture(s)", timeout=30_000)
    expect(page.locator("#ds-freq")).to_contain_text("twintails", timeout=30_000)
    assert all("twintails" in p.read_text() for p in folder.glob("mychar_*.txt"))
    page.locator("#lang-switch label", has_text="日本語").click()
    expect(page.locator("#ds-tagger")).to_contain_text("自動でタグ付け")
    expect(page.locator("#ds-tagger")).to_contain_text("トリガーワードと競合するタグ")
    expect(choices.filter(has_text="twintails: 3 枚中 3 枚（髪型）")).to_be_visible(timeout=30_000)


def test_errors_in_japanese_show_one_japanese_message_under_a_japanese_title(studio, page):
    url, _ = studio
    expect = sync_api.expect
    page.goto(url)
    expect(page.locator("#ds-warnings")).to_contain_text("has no pictures yet")
    page.locator("#lang-switch label", has_text="日本語").click()
    page.get_by_role("tab", name="2. 学習").click()
    page.locator("#tr-stop").click()  # nothing runs: an error
    shown = page.locator(".toast-message-item:visible")
    expect(shown).to_have_text("実行中の学習はないので、止めるものはありません")
    page.locator("#tr-resume").click()  # a second error: it replaces the first instead of stacking under "(2)"
    expect(page.locator(".toast-message-item")).to_have_count(2)
    expect(shown).to_have_count(1)
    expect(shown).to_have_text("学習の実行はまだありません。「学習」タブで開始してください")
    expect(page.locator(".toast-count")).to_be_hidden()
    title = page.locator(".toast-title.error")
    assert title.evaluate("t => getComputedStyle(t, '::before').content") == '"エラー"'
    assert title.evaluate("t => getComputedStyle(t).fontSize") == "0px"  # gradio's English "Error" is not drawn


def test_in_japanese_the_upload_box_relabels_and_the_lesson_shows_only_what_is_live(studio, page):
    url, _ = studio
    expect = sync_api.expect
    page.goto(url)
    expect(page.locator("#ds-warnings")).to_contain_text("has no pictures yet")
    expect(page.locator("#ds-files")).to_contain_text("Drop File Here")
    page.locator("#lang-switch label", has_text="日本語").click()
    expect(page.locator("#ds-files")).to_contain_text("ファイルをここにドロップ")
    expect(page.locator("#ds-files")).not_to_contain_text("Drop File Here")

    page.get_by_role("tab", name="4. レッスン").click()
    expect(page.locator("#ls-run")).to_be_visible()
    for part in ("#ls-stop", "#ls-accuracy", "#ls-loss", "#ls-figures"):  # nothing to show or stop yet
        expect(page.locator(part)).to_be_hidden()
    page.locator("#ls-overrides textarea").fill("transfer.epochs=1\nfinetune.epochs=1\ndata.generated_per_class=8")
    page.locator("#ls-run").click()
    expect(page.locator("#ls-figures img").first).to_be_visible(timeout=300_000)
    expect(page.locator("#ls-accuracy")).to_be_visible()
    expect(page.locator("#ls-loss")).to_be_visible()
    expect(page.locator("#ls-progress")).to_contain_text("完了")
    expect(page.locator("#ls-stop")).to_be_hidden()  # the lesson ended
    # the parameter summaries fit their column: wrapped, not cut off on the right
    expect(page.locator("#ls-summaries pre").first).to_contain_text("学習可能")
    overflow = page.locator("#ls-summaries pre").evaluate_all("ps => ps.map(p => p.scrollWidth - p.clientWidth)")
    assert overflow and max(overflow) <= 1, overflow
