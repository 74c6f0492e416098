"""Tagging a dataset's captions: modes, trigger word, atomic writes, one backup restored once, nothing lost."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from lora_studio import tag_files
from lora_studio.cli import main
from lora_studio.errors import DatasetError
from lora_studio.tag_files import (
    BACKUP_NAME,
    backup_info,
    dataset_items,
    merge_tags,
    remove_tags,
    restore_backup,
    tag_items,
)
from lora_studio.tagger import TagOptions, load_tagger

NEW = ["1girl", "green hair", "^_^", "test girl (lora studio)", "twintails", "blue eyes", "smile", "closed eyes"]


@pytest.fixture
def dataset(tmp_path) -> Path:
    """Three pictures: one tagged by hand, one with an empty caption, one with none; and a README."""
    folder = tmp_path / "mine"
    folder.mkdir()
    for name, color in (("a", "red"), ("b", "blue"), ("c", "green")):
        Image.new("RGB", (96, 80), color).save(folder / f"{name}.png")
    (folder / "a.txt").write_text("mychar, 1girl, red dress\n", encoding="utf-8")
    (folder / "b.txt").write_text("", encoding="utf-8")
    (folder / "README.txt").write_text("my notes\n", encoding="utf-8")
    return folder


def _captions(folder: Path) -> dict[str, str | None]:
    return {name: (folder / f"{name}.txt").read_text(encoding="utf-8") if (folder / f"{name}.txt").exists() else None
            for name in ("a", "b", "c")}


def _tag(folder: Path, tagger_folder: Path, **options) -> tag_files.TagReport:
    items, _ = dataset_items(folder)
    return tag_items(folder, items, load_tagger(str(tagger_folder)), TagOptions(model=str(tagger_folder), **options))


def test_merge_modes_put_the_trigger_first():
    old = ["mychar", "1girl", "red dress"]
    assert merge_tags(old, ["1girl", "smile"], "add", "mychar") == ["mychar", "1girl", "red dress", "smile"]
    assert merge_tags(old, ["1girl", "smile"], "replace", "mychar") == ["mychar", "1girl", "smile"]
    assert merge_tags(old, ["smile"], "keep", "other") == old
    assert merge_tags([], ["smile", "mychar"], "keep", "mychar") == ["mychar", "smile"]


def test_add_mode_appends_new_tags_after_old_ones(dataset, test_tagger_folder):
    report = _tag(dataset, test_tagger_folder, mode="add", trigger="mychar")
    assert report.pictures == report.tagged == 3 and report.changed == 3
    assert _captions(dataset)["a"] == "mychar, 1girl, red dress, " + ", ".join(t for t in NEW if t != "1girl") + "\n"
    assert _captions(dataset)["b"] == _captions(dataset)["c"] == "mychar, " + ", ".join(NEW) + "\n"
    assert report.character_tags == ["test girl (lora studio)"]
    assert (dataset / "README.txt").read_text(encoding="utf-8") == "my notes\n"


def test_replace_mode_and_keep_mode(dataset, test_tagger_folder):
    before = _captions(dataset)
    report = _tag(dataset, test_tagger_folder, mode="keep", trigger="mychar", exclude="closed eyes")
    after = _captions(dataset)
    assert report.tagged == 2 and after["a"] == before["a"]  # the tagged picture is left as it was
    assert after["c"] == "mychar, " + ", ".join(NEW[:-1]) + "\n" and after["b"] == after["c"]
    _tag(dataset, test_tagger_folder, mode="replace")  # no trigger typed: the one every caption starts with stays
    assert _captions(dataset)["a"] == "mychar, " + ", ".join(NEW) + "\n"


def test_restore_puts_every_caption_back_once(dataset, test_tagger_folder):
    before = _captions(dataset)
    _tag(dataset, test_tagger_folder, mode="replace", trigger="mychar")
    assert backup_info(dataset)["captions"] == 3 and backup_info(dataset)["reason"] == "tag"
    assert restore_backup(dataset) == 3
    assert _captions(dataset) == before  # c.txt, which did not exist, is gone again
    assert not (dataset / BACKUP_NAME).exists()
    with pytest.raises(DatasetError, match="has no tag backup to restore"):
        restore_backup(dataset)


def test_restore_gives_back_the_exact_bytes(dataset, test_tagger_folder):
    odd = "mychar, caf\u00e9\r\n".encode("latin-1")  # not UTF-8, with a Windows line end
    (dataset / "a.txt").write_bytes(odd)
    _tag(dataset, test_tagger_folder, mode="replace", trigger="mychar")
    assert (dataset / "a.txt").read_bytes() != odd
    restore_backup(dataset)
    assert (dataset / "a.txt").read_bytes() == odd


def test_a_crash_while_writing_loses_nothing(dataset, test_tagger_folder, monkeypatch):
    before = _captions(dataset)
    real_write, calls = tag_files.write_text_atomic, []

    def fail_on_third(target, text):
        calls.append(target)
        if len(calls) == 3:  # the backup, the first caption, then the disk fills up
            raise OSError(28, "No space left on device", str(target))
        real_write(target, text)

    monkeypatch.setattr(tag_files, "write_text_atomic", fail_on_third)
    with pytest.raises(OSError):
        _tag(dataset, test_tagger_folder, mode="replace", trigger="mychar")
    monkeypatch.undo()
    now = _captions(dataset)
    assert now["a"] != before["a"] and now["b"] == before["b"]  # one caption written whole, the next untouched
    assert not list(dataset.glob(".*.tmp"))  # no half-written file left beside them
    restore_backup(dataset)
    assert _captions(dataset) == before


def test_remove_tags_everywhere_keeps_a_backup(dataset):
    (dataset / "b.txt").write_text("mychar, green hair, smile\n", encoding="utf-8")
    (dataset / "a.txt").write_text("mychar, green hair, twintails\n", encoding="utf-8")
    before = _captions(dataset)
    items, _ = dataset_items(dataset)
    assert remove_tags(dataset, items, ["green hair, twintails"], ["test girl"]) == 2
    assert _captions(dataset)["a"] == "mychar\n" and _captions(dataset)["b"] == "mychar, smile\n"
    assert backup_info(dataset)["character_tags"] == ["test girl"]
    restore_backup(dataset)
    assert _captions(dataset) == before
    with pytest.raises(DatasetError, match="no tags chosen"):
        remove_tags(dataset, items, [" , "])


def test_the_backup_is_invisible_to_the_scanner(dataset, test_tagger_folder):
    _tag(dataset, test_tagger_folder, mode="add")
    items, warnings = dataset_items(dataset)
    assert sorted(item.path.name for item in items) == ["a.png", "b.png", "c.png"]
    assert not any(BACKUP_NAME in line for line in warnings)


@pytest.mark.parametrize("bad", ["../outside.txt", "/etc/passwd.txt", "sub/../../x.txt", "a.png", ".hidden.txt"])
def test_a_backup_cannot_write_outside_its_dataset(dataset, tmp_path, bad):
    before = _captions(dataset)
    (dataset / BACKUP_NAME).write_text(json.dumps({"captions": {"a.txt": "changed\n", bad: "pwned\n"}}),
                                       encoding="utf-8")
    with pytest.raises(DatasetError, match="not a caption file in the dataset"):
        restore_backup(dataset)
    assert _captions(dataset) == before and not (tmp_path / "outside.txt").exists()


def test_a_backup_never_writes_through_a_link(dataset, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n", encoding="utf-8")
    (dataset / "c.txt").symlink_to(outside)
    (dataset / BACKUP_NAME).write_text(json.dumps({"captions": {"c.txt": "pwned\n"}}), encoding="utf-8")
    with pytest.raises(DatasetError, match="is a link"):
        restore_backup(dataset)
    assert outside.read_text(encoding="utf-8") == "keep me\n"


def test_damaged_backup_is_named(dataset):
    (dataset / BACKUP_NAME).write_text("{not json", encoding="utf-8")
    with pytest.raises(DatasetError, match="is damaged"):
        restore_backup(dataset)


def test_cli_tags_suggests_pruning_removes_and_restores(dataset, test_tagger_folder, capsys):
    before = _captions(dataset)
    assert main(["tag", str(dataset), "--model", str(test_tagger_folder), "--trigger", "mychar", "--mode", "replace",
                 "--batch-size", "2"]) == 0
    out = capsys.readouterr().out
    assert "tagged 3 of 3 picture(s)" in out and "3 caption file(s) written" in out
    assert "compete with the trigger word" in out
    rows = re.findall(r"^\s+(.+?)\s+(\d+) of (\d+) pictures \((\w+)\)$", out, flags=re.M)
    assert rows == [("test girl (lora studio)", "3", "3", "character"), ("green hair", "3", "3", "hair"),
                    ("blue eyes", "3", "3", "eyes"), ("twintails", "3", "3", "hairstyle")]
    assert "warning:" not in out  # the missing captions are what tagging was for
    assert main(["tag", str(dataset), "--remove", "green hair, twintails"]) == 0
    assert "green hair" not in _captions(dataset)["c"] and "smile" in _captions(dataset)["c"]
    assert main(["tag", str(dataset), "--restore"]) == 0  # undoes the removal
    assert "green hair" in _captions(dataset)["c"]
    assert main(["tag", str(dataset), "--restore"]) == 2
    assert "no tag backup" in capsys.readouterr().err
    assert _captions(dataset) != before


def test_cli_names_bad_values(dataset, capsys):
    assert main(["tag", str(dataset), "--threshold", "2"]) == 2
    assert "threshold 2.0 is out of range" in capsys.readouterr().err
    assert main(["tag", str(dataset / "missing")]) == 2
    assert "dataset folder" in capsys.readouterr().err
