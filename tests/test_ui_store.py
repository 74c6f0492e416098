"""The Dataset tab's file work (dataset_store.py, dataset_import.py, studio_paths.py): uploads can never land outside the dataset folder, bad files are named,
tags are edited per picture and across all pictures."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from lora_studio import dataset_store as store
from lora_studio.dataset_import import import_uploads
from lora_studio.errors import UserError
from lora_studio.studio_paths import StudioPaths, check_name, inside, safe_relative


def _png(size: int = 80, colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _upload(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ["../evil.png", "a/../../evil.png", "/etc/evil.png", "C:\\evil.png",
                                  "\\\\server\\share\\x.png", ".hidden.png", "", "a/.git/config.txt"])
def test_unsafe_upload_names_are_refused(name):
    with pytest.raises(UserError):
        safe_relative(name)


def test_safe_names_keep_repeat_folders():
    assert safe_relative("10_mychar\\a.png").as_posix() == "10_mychar/a.png"
    assert safe_relative("./a.png").as_posix() == "a.png"


@pytest.mark.parametrize("name", ["..", "../x", "a/b", "", " ", "-x", "x" * 65, "naïve"])
def test_bad_dataset_and_run_names(name):
    with pytest.raises(UserError, match="not allowed"):
        check_name(name, "dataset name")


def test_symlinks_are_never_followed(tmp_path):
    (tmp_path / "outside").mkdir()
    folder = tmp_path / "ds"
    folder.mkdir()
    os.symlink(tmp_path / "outside", folder / "link")
    with pytest.raises(UserError, match="symbolic link"):
        inside(folder, safe_relative("link/a.png"))


def test_zip_with_escaping_entries_saves_only_the_safe_ones(tmp_path):
    archive = tmp_path / "up" / "pack.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("good.png", _png())
        zf.writestr("good.txt", "mychar, smile")
        zf.writestr("../evil.png", _png())
        zf.writestr("/abs.png", _png())
        zf.writestr("notes.pdf", b"%PDF-1.4")
        zf.writestr("broken.png", b"not a png at all")
        zf.writestr("orphan.txt", "no picture")
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    folder = tmp_path / "root" / "datasets" / "ds"
    report = import_uploads(folder, [archive])
    assert sorted(report.saved) == ["good.png", "good.txt"]
    reasons = "\n".join(report.rejected)
    for name in ("../evil.png", "/abs.png", "notes.pdf", "broken.png", "orphan.txt", "link.png"):
        assert f"'{name}'" in reasons, name
    assert "outside" in reasons and "absolute" in reasons and "symbolic link" in reasons
    assert sorted(p.name for p in folder.iterdir()) == ["good.png", "good.txt"]
    assert not (tmp_path / "root" / "datasets" / "evil.png").exists()


def test_plain_uploads_and_non_images(tmp_path):
    up = tmp_path / "up"
    files = [_upload(up, "a.png", _png()), _upload(up, "a.txt", b"1girl,  smile ,,green hair"),
             _upload(up, "readme.md", b"# hi"), _upload(up, "fake.jpg", b"\x00" * 50)]
    folder = tmp_path / "ds"
    report = import_uploads(folder, files)
    assert report.saved == ["a.png", "a.txt"]
    assert len(report.rejected) == 2 and "readme.md" in report.rejected[0] and "fake.jpg" in report.rejected[1]
    assert "it was not saved" in report.rejected[1]
    assert (folder / "a.txt").read_text() == "1girl, smile, green hair\n"


def test_tag_editing_and_the_view(tmp_path):
    folder = tmp_path / "ds"
    up = tmp_path / "up"
    import_uploads(folder, [_upload(up, "a.png", _png(300)), _upload(up, "b.png", _png(300, "blue")),
                                  _upload(up, "c.png", _png(300)), _upload(up, "a.txt", b"smile")])
    assert store.read_tags(folder, "a.png") == "smile"
    assert store.read_tags(folder, "b.png") == ""
    store.write_tags(folder, "b.png", "open mouth, smile")
    assert store.add_tag_everywhere(folder, "mychar", first=True) == 3
    assert store.add_tag_everywhere(folder, "solo") == 3
    assert store.remove_tag_everywhere(folder, "smile") == 2
    assert (folder / "b.txt").read_text() == "mychar, open mouth, solo\n"
    view = store.describe(folder)
    assert view.trigger == "mychar" and view.tags["solo"] == 3
    assert any("duplicate" in w and "'a.png'" in w and "'c.png'" in w for w in view.warnings)
    assert list(store.quick_tags(folder).items())[:2] == [("mychar", 3), ("solo", 3)]
    store.delete_picture(folder, "c.png")
    assert not (folder / "c.png").exists() and not (folder / "c.txt").exists()
    with pytest.raises(UserError):
        store.read_tags(folder, "../../etc/passwd")
    with pytest.raises(UserError, match="type a tag"):
        store.add_tag_everywhere(folder, " , ")


def test_small_and_empty_datasets_are_explained(tmp_path):
    folder = tmp_path / "ds"
    assert store.describe(folder).items == []
    import_uploads(folder, [_upload(tmp_path / "up", "tiny.png", _png(40))])
    view = store.describe(folder)
    assert view.items == [] and "tiny.png" in view.warnings[0]
    import_uploads(folder, [_upload(tmp_path / "up", "small.png", _png(100))])
    assert any("small picture 'small.png'" in w for w in store.describe(folder).warnings)


def test_studio_serves_only_datasets_and_outputs(tmp_path):
    paths = StudioPaths.at(tmp_path)
    assert paths.served() == [str(tmp_path.resolve() / "datasets"), str(tmp_path.resolve() / "outputs")]
    assert "quickstart" in paths.preset_files() and "lesson-quick" not in paths.preset_files()
    assert "lesson-quick" in paths.preset_files(lesson=True) and "quickstart" not in paths.preset_files(lesson=True)
    with pytest.raises(UserError):
        paths.dataset("../outputs")


def test_prompt_suggestions_ignore_text_files_without_a_picture():
    from pathlib import Path

    from lora_studio.dataset_store import quick_tags

    sample = Path(__file__).resolve().parent.parent / "datasets" / "sample-character"
    tags = quick_tags(sample)
    assert "mychar" in tags
    readme_words = set((sample / "README.txt").read_text(encoding="utf-8").replace("\n", ",").split(","))
    assert not {w.strip() for w in readme_words if w.strip()} & set(tags)


def _zip(path: Path, entries: dict[str, bytes | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_a_zipped_folder_lands_at_the_top_of_the_dataset(tmp_path):
    # What "compress folder" makes: one folder holding the pictures and their tags.
    archive = _zip(tmp_path / "up" / "mychar.zip", {"mychar/pic0.png": _png(300), "mychar/pic0.txt": "smile",
                                                    "mychar/pic1.png": _png(300, "blue")})
    folder = tmp_path / "ds"
    report = import_uploads(folder, [archive])
    assert sorted(report.saved) == ["pic0.png", "pic0.txt", "pic1.png"] and report.rejected == []
    view = store.describe(folder)
    assert [view.relative(item) for item in view.items] == ["pic0.png", "pic1.png"]
    assert not any("ignored folder" in line for line in view.warnings)
    assert store.read_tags(folder, "pic0.png") == "smile"


def test_zip_folders_kohya_stay_plain_ones_come_up_without_collisions(tmp_path):
    archive = _zip(tmp_path / "up" / "export.zip", {
        "export/10_mychar/a.png": _png(300), "export/10_mychar/a.txt": "kohya",
        "export/top.png": _png(300, "green"),
        "export/day/pic.png": _png(300, "blue"), "export/day/pic.txt": "day",
        "export/night/pic.png": _png(300, "black"), "export/night/pic.txt": "night",
        "export/../evil.png": _png(),
    })
    folder = tmp_path / "ds"
    report = import_uploads(folder, [archive])
    assert sorted(report.saved) == ["10_mychar/a.png", "10_mychar/a.txt", "night_pic.png", "night_pic.txt",
                                    "pic.png", "pic.txt", "top.png"]
    assert any("'export/../evil.png'" in line for line in report.rejected)
    assert store.read_tags(folder, "pic.png") == "day" and store.read_tags(folder, "night_pic.png") == "night"
    view = store.describe(folder)
    assert len(view.items) == 4 and view.skipped == []
    assert [item.repeats for item in view.items if item.path.parent.name == "10_mychar"] == [10]
    # a zip of one kohya folder keeps it
    only_kohya = _zip(tmp_path / "up" / "k.zip", {"5_other/b.png": _png(300, "white")})
    assert import_uploads(tmp_path / "ds2", [only_kohya]).saved == ["5_other/b.png"]


def test_an_upload_that_saves_nothing_leaves_no_empty_dataset(tmp_path):
    folder = tmp_path / "datasets" / "nothing"
    report = import_uploads(folder, [_upload(tmp_path / "up", "notes.pdf", b"%PDF")])
    assert report.saved == [] and len(report.rejected) == 1
    assert not folder.exists()
    folder.mkdir()  # an existing dataset stays, even when nothing new was saved into it
    import_uploads(folder, [_upload(tmp_path / "up", "notes.pdf", b"%PDF")])
    assert folder.is_dir()


def test_skipped_pictures_are_listed_and_bulk_edits_only_touch_trained_ones(tmp_path):
    folder = tmp_path / "ds"
    up = tmp_path / "up"
    import_uploads(folder, [_upload(up, "a.png", _png(300)), _upload(up, "b.png", _png(300, "blue")),
                                  _upload(up, "tiny.png", _png(40)), _upload(up, "a.txt", b"smile"),
                                  _upload(up, "b.txt", b"smile"), _upload(up, "tiny.txt", b"smile")])
    (folder / "plain").mkdir()
    (folder / "plain" / "c.png").write_bytes(_png(300, "green"))
    view = store.describe(folder)
    assert [view.relative(item) for item in view.items] == ["a.png", "b.png"]
    assert view.skipped == ["plain/c.png", "tiny.png"]
    # judged with the trainer's default bucket_step, which the warning names
    assert store.CHECK_BUCKET_STEP == 64
    assert any("tiny.png" in line and "bucket_step=64" in line for line in view.warnings)
    assert store.add_tag_everywhere(folder, "solo") == 2  # what the gallery shows, not the skipped picture
    assert (folder / "tiny.txt").read_text() == "smile\n"
    for rel in view.skipped:
        store.delete_picture(folder, rel)
    assert store.describe(folder).skipped == [] and not (folder / "tiny.txt").exists()


def test_the_newest_dataset_opens_first(tmp_path):
    from lora_studio.studio_paths import newest_dataset

    paths = StudioPaths.at(tmp_path)
    assert newest_dataset(paths) is None
    for name, age in (("aaa", 100), ("zzz", 50), ("mmm", 10)):
        (paths.datasets / name).mkdir()
        picture = paths.datasets / name / "a.png"
        picture.write_bytes(_png())
        os.utime(picture, (picture.stat().st_mtime - age,) * 2)
        os.utime(picture.parent, (picture.stat().st_mtime,) * 2)
    assert newest_dataset(paths) == "mmm"
    (paths.datasets / "aaa" / "a.txt").write_text("edited just now")
    assert newest_dataset(paths) == "aaa"


def test_the_sample_dataset_explains_its_small_pictures_once(tmp_path):
    from lora_studio.sample_data import make_sample_dataset

    view = store.describe(make_sample_dataset(tmp_path / "sample-character"))
    notes = [str(w) for w in view.warnings]
    assert not any(w.startswith("small picture") for w in notes)
    assert len(notes) == 1 and "small on purpose" in notes[0] and "8 built-in sample pictures" in notes[0]
    (tmp_path / "sample-character" / "README.txt").write_text("my own pictures\n")  # not the sample any more
    assert sum(str(w).startswith("small picture") for w in store.describe(tmp_path / "sample-character").warnings) == 8


def test_the_dataset_store_and_the_studio_paths_work_without_gradio():
    """They are the studio's file rules, not UI: a script or the CLI can use them without loading gradio."""
    import subprocess
    import sys

    code = ("import sys; import lora_studio.dataset_store, lora_studio.dataset_import, lora_studio.studio_paths; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'gradio'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
