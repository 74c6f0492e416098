"""The Lesson tab's settings: a browser can change how the lesson trains, never where it downloads from or
writes to, whatever the override syntax."""

from __future__ import annotations

from pathlib import Path

import pytest

from lora_studio.lesson.config import CATS_DOGS_SIZE, CATS_DOGS_URL
from lora_studio.studio_paths import StudioPaths
from lora_studio.ui.i18n import StudioError
from lora_studio.ui.lesson_tab import lesson_config

ATTACKS = [
    "data.url=file:///etc/passwd",
    "data.url = https://example.com/other.zip",
    "data={source: cats_and_dogs, url: 'file:///etc/passwd'}",
    "data={source: cats_and_dogs, path: /tmp/elsewhere}",
    "data={source: cats_and_dogs, expected_size: null}",
    "data.expected_size=1",
    "data.path=outputs",
    "data.path=/tmp/elsewhere",
    "output_dir=/tmp/elsewhere",
    "data=&d {source: cats_and_dogs, url: 'file:///etc/passwd'}",
    "data.url=&u file:///etc/passwd",
    "data={source: generated, path: /tmp/elsewhere}",
]


@pytest.fixture
def paths(tmp_path) -> StudioPaths:
    return StudioPaths.at(tmp_path / "studio")


@pytest.mark.parametrize("preset", ["lesson-quick", "lesson-cats-dogs"])
@pytest.mark.parametrize("attack", ATTACKS)
def test_where_the_lesson_downloads_from_or_writes_to_cannot_be_chosen(paths, preset, attack):
    with pytest.raises(StudioError, match="cannot be changed in the studio"):
        lesson_config(paths, preset, f"transfer.epochs=1\n{attack}", "en")


def test_photos_of_ones_own_are_read_only_from_a_real_folder_under_datasets(paths, tmp_path):
    (paths.datasets / "pets" / "train").mkdir(parents=True)
    config = lesson_config(paths, "lesson-quick", "data.source=folder\ndata.path=datasets/pets", "ja")
    assert config.data.path == str(paths.datasets / "pets") and config.language == "ja"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (paths.datasets / "linked").symlink_to(elsewhere, target_is_directory=True)
    for path, message in ((str(elsewhere), "must be a dataset folder under"), ("datasets/../..", "under"),
                          ("datasets/linked", "symbolic link"), (str(paths.datasets / "linked"), "symbolic link")):
        with pytest.raises(StudioError, match=message):
            lesson_config(paths, "lesson-quick", f"data={{source: folder, path: '{path}'}}", "en")


def test_the_download_always_lands_in_the_studios_datasets(paths):
    config = lesson_config(paths, "lesson-quick", "data.source=cats_and_dogs", "en")
    assert Path(config.data.path) == paths.datasets / "cats_and_dogs_filtered"
    assert (config.data.url, config.data.expected_size) == (CATS_DOGS_URL, CATS_DOGS_SIZE)
    assert Path(config.output_dir) == paths.lessons / "lesson-quick"
    generated = lesson_config(paths, "lesson-cats-dogs", "data.source=generated", "en")
    assert generated.data.path is None and generated.data_dir == paths.lessons / "lesson-cats-dogs" / "shapes"
