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


def _lesson_actions(root: Path):
    import gradio as gr

    from lora_studio.jobs import Jobs
    from lora_studio.ui.common import Studio
    from lora_studio.ui.lesson_tab import LessonActions

    paths = StudioPaths.at(root)
    return LessonActions(Studio(paths, Jobs(paths.outputs, cwd=paths.root), lang=gr.State("en")))


def test_the_lesson_streams_to_the_page_and_its_model_classifies_a_photo(tmp_path):
    actions = _lesson_actions(tmp_path / "studio")
    quick = "transfer.epochs=1\nfinetune.epochs=1\ndata.generated_per_class=8"
    updates = list(actions.run("lesson-quick", quick, "ja"))
    assert len(updates) > 3  # explanations and curves arrive while it trains, not only at the end
    assert len(updates[0][1]) < len(updates[-1][1]) and updates[-1][0].endswith("秒で完了しました。")
    accuracy = updates[-1][3]
    assert list(accuracy["epoch"]) == [1, 1, 2, 2] and set(accuracy["series"]) == {"訓練", "検証"}
    figures, run_dir = updates[-1][5], updates[-1][7]
    assert [Path(f).name for f in figures] == ["curves.png", "predictions.png"]
    answer = actions.classify(figures[1], run_dir, "en")
    assert len(answer) == 2 and sum(answer.values()) == pytest.approx(1.0)


def test_one_lesson_at_a_time_and_stop_ends_it(tmp_path):
    import gradio as gr

    actions = _lesson_actions(tmp_path / "studio")
    running = actions.run("lesson-quick", "", "en")
    next(running)  # the lesson has started
    with pytest.raises(gr.Error, match="A lesson is already running"):
        list(actions.run("lesson-quick", "", "en"))
    assert actions.stop("en") == "Stopping after the current batch…"
    with pytest.raises(gr.Error, match="the lesson was stopped; run it again to start over"):
        list(running)
    with pytest.raises(gr.Error, match="No lesson is running."):  # and the next one may start
        actions.stop("en")
