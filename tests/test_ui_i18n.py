"""The studio speaks the page's language: server-side texts, refusals, the core library's warnings and errors
(rendered from their keys), toasts. The tables themselves are checked in tests/test_text.py."""

from __future__ import annotations

import re

import pytest

from lora_studio.ui.i18n import I18N, help_key, tr


def test_server_side_texts_follow_the_language():
    assert tr("en", "ds_saved", n=3, tags=2, name="x") == "Saved 3 picture(s) and 2 tag file(s) to dataset **x**."
    assert tr("ja", "ds_saved", n=3, tags=2, name="x").startswith("データセット **x** に画像 3 枚")
    assert tr("ja", "no-such-key") == "no-such-key"
    assert I18N.translations_dict["ja"]["tab_train"] == "2. 学習"
    assert all("." not in key for key in I18N.translations_dict["en"])  # dots would nest in the browser
    assert I18N.translations_dict["ja"][help_key("train.learning_rate")].startswith("アダプターの学習率")


def _has_english_sentence(text: str) -> bool:
    """True when `text` still reads as an English sentence (quoted names and setting keys aside)."""
    bare = re.sub(r"'[^']*'|\([^)]*\)|[\w.]+_[\w.]+|\d+x\d+", "", text)
    return bool(re.search(r"\b(is|are|the|it|was|not|to|of)\b", bare))


def test_studio_messages_keep_their_english_and_render_in_japanese(tmp_path):
    from lora_studio.dataset_import import import_uploads
    from lora_studio.studio_paths import check_name, safe_relative
    from lora_studio.ui.i18n import StudioError, Text, say

    with pytest.raises(StudioError) as refused:
        safe_relative("../evil.png")
    assert str(refused.value) == "'../evil.png' points outside the dataset folder ('..'); it was not saved"
    assert say("ja", refused.value.msg) == "'../evil.png' はデータセットのフォルダーの外を指している（'..'）ので、保存しませんでした"
    with pytest.raises(StudioError) as bad:
        check_name("../x", "dataset name")
    assert str(bad.value).startswith("dataset name '../x' is not allowed")
    assert bad.value.render("ja").startswith("データセット名 '../x' は使えません")
    report = import_uploads(tmp_path / "ds", [_file(tmp_path, "notes.pdf", b"%PDF")])
    assert isinstance(report.rejected[0], Text) and "notes.pdf" in report.rejected[0]
    assert not _has_english_sentence(say("ja", report.rejected[0]))


def test_core_dataset_warnings_are_japanese_in_japanese_mode(tmp_path):
    from PIL import Image

    from lora_studio import dataset_store as store
    from lora_studio.ui.i18n import say

    folder = tmp_path / "ds"
    (folder / "mychar").mkdir(parents=True)
    Image.new("RGB", (300, 300), "red").save(folder / "mychar" / "a.png")  # a folder training ignores
    Image.new("RGB", (300, 300), "blue").save(folder / "b.png")  # no caption
    Image.new("RGB", (300, 300), "blue").save(folder / "c.png")  # and a duplicate of b
    Image.new("RGB", (40, 40), "blue").save(folder / "tiny.png")  # too small
    Image.new("RGB", (100, 100), "green").save(folder / "small.png")  # trains, poorly
    (folder / "small.txt").write_text("smile")
    (folder / "anim.gif").write_bytes(b"GIF89a")
    warnings = store.describe(folder).warnings
    kinds = {"ignored folder", "too small", "no caption", "duplicate", ".gif", "small picture"}
    assert all(any(kind in line for line in warnings) for kind in kinds), warnings
    for line in warnings:
        ja = say("ja", line)
        assert re.search(r"[ぁ-んァ-ン一-龥]", ja) and not _has_english_sentence(ja), (line, ja)
    assert say("en", warnings[0]) == warnings[0]
    # a plain sentence (code from before keys) is shown as it is: nothing is guessed from its English
    assert say("ja", "something new happened") == "something new happened"


def test_a_broken_upload_is_refused_in_japanese(tmp_path):
    from lora_studio.dataset_import import import_uploads
    from lora_studio.ui.i18n import say

    report = import_uploads(tmp_path / "ds", [_file(tmp_path, "half.png", b"\x89PNG\r\n\x1a\nbroken")])
    assert report.rejected[0].startswith("image 'half.png' is not a readable") and "it was not saved" in report.rejected[0]
    ja = say("ja", report.rejected[0])
    assert ja.startswith("画像 'half.png' は読み込める") and ja.endswith("保存しませんでした"), ja
    assert ".upload-" not in ja  # the picture's own name, not the staging file's


def test_errors_and_toasts_follow_the_language():
    from lora_studio.errors import DatasetError, UserError
    from lora_studio.jobs import TrainingBusy
    from lora_studio.ui.common import _page_error, message_of
    from lora_studio.ui.i18n import StudioError

    busy = TrainingBusy("jobs.busy", name="first", pid=12)
    assert str(busy) == ("a training is already running (run 'first', process 12); stop it or wait until it "
                         "finishes, then start again")
    assert message_of(busy, "ja") == ("学習 'first' がすでに実行中です（プロセス 12）。止めるか終わるのを待ってから、"
                                      "もう一度開始してください")
    assert message_of(busy, "en") == str(busy)
    missing = DatasetError("data.folder_missing", path="x")
    assert message_of(missing, "ja").startswith("dataset.path: フォルダー 'x' が見つかりません")
    assert message_of(UserError("a sentence from before keys"), "ja") == "a sentence from before keys"
    error = _page_error(StudioError("jobs.nothing_to_stop"), "ja")
    assert error.title == "エラー" and error.message == "実行中の学習はないので、止めるものはありません"


def _file(folder, name: str, data: bytes):
    path = folder / "up" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_japanese_message_gets_no_english_lead_in():
    from lora_studio.ui.i18n import StudioError, say, tr

    busy = tr("ja", "ls_busy")
    assert say("ja", busy) == busy
    assert say("ja", StudioError("jobs.no_runs")) == "学習の実行はまだありません。「学習」タブで開始してください"
    assert say("ja", StudioError("jobs.run_not_found", run="キャラ", outputs="/o")) == \
        "実行 'キャラ' が /o に見つかりません"  # a Japanese value does not stop the translation
