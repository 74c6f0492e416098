"""The Dataset tab's server side (DatasetActions) without a browser: which dataset the page opens, and every edit
acting on the dataset the gallery shows; what it returns lands in the components of DatasetWidgets.drawn."""

from __future__ import annotations

import os
import time
import zipfile

import gradio as gr
import pytest

from lora_studio.jobs import Jobs
from lora_studio.sample_data import make_sample_dataset
from lora_studio.studio_paths import StudioPaths
from lora_studio.ui.common import Studio
from lora_studio.ui.dataset_tab import DEFAULT_NAME, DatasetActions, _layout
from lora_studio.ui.i18n import tr


@pytest.fixture
def tab(tmp_path):
    """The tab's actions on a studio under tmp_path, and its widgets (for the order of what a redraw fills)."""
    paths = StudioPaths.at(tmp_path / "studio")
    with gr.Blocks():
        studio = Studio(paths=paths, jobs=Jobs(paths.outputs, cwd=paths.root), lang=gr.State("en"))
        widgets = _layout()
    return DatasetActions(studio), widgets, paths


def _drawn(widgets, values) -> dict:
    assert len(values) == len(widgets.drawn)
    return dict(zip(widgets.drawn, values, strict=True))


def _two_datasets(paths: StudioPaths) -> None:
    old = make_sample_dataset(paths.dataset("aaa-old"), count=3, size=64)
    past = time.time() - 3600
    for path in [*old.iterdir(), old]:
        os.utime(path, (past, past))
    make_sample_dataset(paths.dataset("mine"), count=5, size=64)


def test_the_page_opens_the_newest_dataset_unless_a_name_was_typed(tab):
    actions, widgets, paths = tab
    _two_datasets(paths)

    first = _drawn(widgets, actions.show(DEFAULT_NAME, "", "en"))
    assert first[widgets.current] == "mine" and first[widgets.name]["value"] == "mine"
    assert first[widgets.name]["choices"] == ["aaa-old", "mine"]
    assert len(first[widgets.gallery]) == 5 and len(first[widgets.rel_paths]) == 5
    assert "**5** pictures in dataset **mine**" in first[widgets.warnings_md]
    assert first[widgets.trigger] == "mychar"  # the dataset's trigger word fills the box

    typed = _drawn(widgets, actions.show("newchar", "", "en"))  # a name typed before the page finished loading
    assert typed[widgets.current] == "newchar" and typed[widgets.gallery] == []
    again = _drawn(widgets, actions.show("mine", "aaa-old", "ja"))  # the tab opens again: the dataset on show stays
    assert again[widgets.current] == "aaa-old" and "データセット **aaa-old** の画像: **3** 枚" in again[widgets.warnings_md]


def test_upload_and_the_edits_act_on_the_dataset_shown(tab, tmp_path):
    actions, widgets, paths = tab
    pictures = make_sample_dataset(tmp_path / "pictures", count=3, size=64)
    uploads = [str(p) for p in sorted(pictures.glob("mychar_*"))]
    text, summary = actions.upload(uploads, "set", "star", "en")
    assert "Saved 3 picture(s) and 3 tag file(s)" in text and summary["rejected"] == []
    folder = paths.dataset("set")
    assert all(p.read_text(encoding="utf-8").startswith("star, ") for p in folder.glob("*.txt"))

    shown = _drawn(widgets, actions.refresh("set", "en"))
    rels = shown[widgets.rel_paths]
    rel, tags = actions.select(gr.SelectData(None, {"index": 1, "value": None}), rels, "set")
    assert rel == rels[1] and tags.startswith("star, ")
    assert actions.save_tags("set", rel, "star, edited", "en") == f"Saved 2 tags for {rel}."
    assert (folder / rel).with_suffix(".txt").read_text(encoding="utf-8").strip() == "star, edited"

    assert actions.add_to_all("set", "added", "star", "en") == "Changed the tags of 3 picture(s)."
    assert actions.remove_from_all("set", "edited", "star", "en") == "Changed the tags of 1 picture(s)."
    assert actions.delete("set", rel, "en") == (f"Removed {rel} and its tags.", "", "")
    assert not (folder / rel).exists() and len(_drawn(widgets, actions.refresh("set", "en"))[widgets.gallery]) == 2
    assert actions.trigger_first_everywhere("set", "", "new-trigger", "en") == "Changed the tags of 2 picture(s)."
    assert all(p.read_text(encoding="utf-8").startswith("new-trigger, ") for p in folder.glob("*.txt"))


def test_refusals_are_readable_in_the_pages_language(tab):
    actions, _, _ = tab
    with pytest.raises(gr.Error) as error:
        actions.save_tags("set", "", "a, b", "ja")  # no picture clicked
    assert error.value.message == tr("ja", "ds_pick_first")
    with pytest.raises(gr.Error) as error:
        actions.upload([], "set", "", "en")
    assert error.value.message == tr("en", "ds_no_files")
    with pytest.raises(gr.Error, match="dataset name '../outside' is not allowed"):
        actions.refresh("../outside", "en")  # never a folder outside datasets/


def test_a_single_zip_names_a_new_dataset_and_the_sample_opens(tab, tmp_path):
    actions, _, paths = tab
    archive = tmp_path / "My Character.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.txt", "x")
    assert actions.name_from_zip([str(archive)], DEFAULT_NAME) == "My-Character"
    assert actions.name_from_zip([str(archive)], "picked") == gr.skip()  # a name picked already stays
    assert actions.name_from_zip([str(archive), str(archive)], DEFAULT_NAME) == gr.skip()  # two files: no name
    message, name, trigger = actions.make_sample("en")
    assert "sample-character" in message and name["value"] == "sample-character" and trigger == "mychar"
    assert len(list(paths.dataset("sample-character").glob("*.png"))) > 0
