"""Automatic tagging in the studio, through its named API endpoints (gradio_client), with the offline tiny tagger."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("gradio_client")
pytest.importorskip("timm")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from lora_studio import dataset_store as store  # noqa: E402
from lora_studio.sample_data import make_sample_dataset  # noqa: E402
from lora_studio.tag_files import BACKUP_NAME  # noqa: E402
from lora_studio.ui.tag_panel import prune_choices  # noqa: E402

pytestmark = pytest.mark.slow
CHARACTER = "tiny character (lora studio)"


@pytest.fixture(scope="module")
def studio(tmp_path_factory, start_studio):
    root = tmp_path_factory.mktemp("tag-studio")
    demo = start_studio(root)
    yield Client(demo.local_url, verbose=False), root
    demo.close()


def _captions(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("mychar_*.txt"))}


def test_tag_prune_and_undo_through_the_api(studio):
    client, root = studio
    folder = make_sample_dataset(root / "datasets" / "chars", count=4, size=96)
    before = _captions(folder)
    summary = client.predict(dataset="chars", model="tiny", mode="replace", trigger="mychar", exclude="solo",
                             api_name="/tag_dataset")
    assert summary["pictures"] == summary["tagged"] == summary["changed"] == 4
    assert summary["character_tags"] == [CHARACTER]
    for name, tags in summary["captions"].items():
        assert tags[0] == "mychar" and "solo" not in tags and "^_^" in tags  # the tiny tagger writes every tag
        assert (folder / name).with_suffix(".txt").read_text(encoding="utf-8") == ", ".join(tags) + "\n"
    assert (folder / BACKUP_NAME).is_file()
    view = store.describe(folder)  # the backup is no picture, no caption and no warning
    assert len(view.items) == 4 and not view.skipped and not any(BACKUP_NAME in str(w) for w in view.warnings)

    # The pruning step offers the character's look with its frequency, all checked.
    update, note = prune_choices(folder, "mychar", [], "en")
    assert f"{CHARACTER}: 4 of 4 pictures (character)" in [label for label, _ in update["choices"]]
    assert {"green hair", "twintails", "blue eyes", CHARACTER} <= set(update["value"]) and "smile" not in update["value"]
    assert note.startswith(f"{len(update['value'])} tag(s) describe the character")

    message = client.predict(dataset="chars", tags=["twintails", CHARACTER], api_name="/prune_tags")
    assert message.startswith(f"Removed twintails, {CHARACTER} from 4 picture(s)")
    assert not any("twintails" in text or CHARACTER in text for text in _captions(folder).values())

    assert "4 picture(s)" in client.predict(dataset="chars", api_name="/restore_tags")  # undoes the pruning
    assert all("twintails" in text for text in _captions(folder).values())
    with pytest.raises(AppError, match="nothing to undo"):
        client.predict(dataset="chars", api_name="/restore_tags")
    assert _captions(folder) != before


def test_keep_mode_leaves_tagged_pictures_alone(studio):
    client, root = studio
    folder = make_sample_dataset(root / "datasets" / "kept", count=3, size=96)
    (folder / "mychar_02.txt").unlink()
    before = _captions(folder)
    summary = client.predict(dataset="kept", model="tiny", mode="keep", api_name="/tag_dataset")
    assert summary["tagged"] == 1 and summary["changed"] == 1
    after = _captions(folder)
    assert {k: v for k, v in after.items() if k != "mychar_02.txt"} == before
    assert after["mychar_02.txt"].startswith("mychar, ")  # the dataset's trigger word leads the new caption


def test_refusals_name_what_is_wrong(studio):
    client, root = studio
    (root / "datasets" / "empty").mkdir(parents=True)
    with pytest.raises(AppError, match="has no pictures to tag"):
        client.predict(dataset="empty", model="tiny", api_name="/tag_dataset")
    with pytest.raises(AppError, match="not one of the studio's choices"):
        client.predict(dataset="empty", model=str(root), api_name="/tag_dataset")
    with pytest.raises(AppError, match="not allowed"):
        client.predict(dataset="../x", model="tiny", api_name="/tag_dataset")
    with pytest.raises(AppError, match="mode 'merge' is unknown"):
        client.predict(dataset="empty", model="tiny", mode="merge", api_name="/tag_dataset")
    with pytest.raises(AppError, match="check the tags to remove first"):
        client.predict(dataset="empty", tags=[], api_name="/prune_tags")


def test_the_backup_cannot_be_uploaded_over(studio, tmp_path):
    client, root = studio
    forged = tmp_path / BACKUP_NAME
    forged.write_text('{"captions": {"../../escape.txt": "x"}}', encoding="utf-8")
    folder = make_sample_dataset(root / "datasets" / "forged", count=2, size=96)
    message, summary = client.predict(uploads=[handle_file(str(forged))], dataset="forged", trigger_word="",
                                      api_name="/upload_dataset")
    assert "Nothing was saved" in message and BACKUP_NAME in summary["rejected"][0]
    assert not (folder / BACKUP_NAME).exists()
