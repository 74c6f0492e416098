"""Every text of the studio exists in English and Japanese, with the same placeholders, and every training
setting has a one-line explanation in both."""

from __future__ import annotations

import re

import pytest

from lora_studio.config import TrainConfig
from lora_studio.ui.help_ja import HELP_JA
from lora_studio.ui.i18n import ALL_TEXT, I18N, TEXT, help_key, tr
from lora_studio.ui.train_form import all_fields

PLACEHOLDER = re.compile(r"{(\w+)}")


def test_every_setting_is_explained_in_both_languages():
    keys = [key for key, _, _ in all_fields(TrainConfig)]
    assert set(keys) == set(HELP_JA), "help_ja.py and TrainConfig differ"
    for key in keys:
        en, ja = ALL_TEXT[help_key(key)]
        assert en and ja and en != ja, key


@pytest.mark.parametrize("key", sorted(TEXT))
def test_texts_have_both_languages_and_the_same_placeholders(key):
    en, ja = TEXT[key]
    assert en.strip() and ja.strip()
    assert sorted(PLACEHOLDER.findall(en)) == sorted(PLACEHOLDER.findall(ja)), key


def test_server_side_texts_follow_the_language():
    assert tr("en", "ds_saved", n=3, tags=2, name="x") == "Saved 3 picture(s) and 2 tag file(s) to dataset **x**."
    assert tr("ja", "ds_saved", n=3, tags=2, name="x").startswith("データセット **x** に画像 3 枚")
    assert tr("ja", "no-such-key") == "no-such-key"
    assert I18N.translations_dict["ja"]["tab_train"] == "2. 学習"
    assert all("." not in key for key in I18N.translations_dict["en"])  # dots would nest in the browser



def _has_english_sentence(text: str) -> bool:
    """True when `text` still reads as an English sentence (quoted names and setting keys aside)."""
    bare = re.sub(r"'[^']*'|\([^)]*\)|[\w.]+_[\w.]+|\d+x\d+", "", text)
    return bool(re.search(r"\b(is|are|the|it|was|not|to|of)\b", bare))


def test_studio_messages_keep_their_english_and_render_in_japanese(tmp_path):
    from lora_studio.ui import dataset_store as store
    from lora_studio.ui.i18n import Msg, StudioError, say
    from lora_studio.ui.paths import check_name, safe_relative

    with pytest.raises(StudioError) as refused:
        safe_relative("../evil.png")
    assert str(refused.value) == "'../evil.png' points outside the dataset folder ('..'); it was not saved"
    assert say("ja", refused.value.msg) == "'../evil.png' はデータセットのフォルダーの外を指している（'..'）ので、保存しませんでした"
    with pytest.raises(StudioError) as bad:
        check_name("../x", "dataset name")
    assert str(bad.value).startswith("dataset name '../x' is not allowed")
    assert bad.value.msg.text("ja").startswith("データセット名 '../x' は使えません")
    report = store.import_uploads(tmp_path / "ds", [_file(tmp_path, "notes.pdf", b"%PDF")])
    assert isinstance(report.rejected[0], Msg) and "notes.pdf" in report.rejected[0]
    assert not _has_english_sentence(say("ja", report.rejected[0]))


def test_core_dataset_warnings_are_japanese_in_japanese_mode(tmp_path):
    from PIL import Image

    from lora_studio.ui import dataset_store as store
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
    # anything the patterns do not know still gets a Japanese lead-in, with the English detail after it
    assert say("ja", "something new happened") == "注意（英語のメッセージ）: something new happened"
    assert say("ja", "train.learning_rate: -1 is too small; it must be at least 0.0", error=True) == \
        "train.learning_rate: -1 は小さすぎます。0.0 以上にしてください"


def test_errors_and_toasts_follow_the_language():
    from lora_studio.errors import UserError
    from lora_studio.jobs import TrainingBusy
    from lora_studio.ui.common import _page_error, message_of
    from lora_studio.ui.i18n import StudioError

    busy = TrainingBusy("a training is already running (run 'first', process 12); stop it or wait until it "
                        "finishes, then start again")
    assert message_of(busy, "ja") == "学習 'first' がすでに実行中です。止めるか終わるのを待ってから、もう一度開始してください"
    assert message_of(busy, "en") == str(busy)
    assert message_of(UserError("dataset.path: folder 'x' not found"), "ja").startswith("うまくいきませんでした。英語の詳細:")
    error = _page_error(StudioError("tr_nothing_to_stop"), "ja")
    assert error.title == "エラー" and error.message == "実行中の学習はないので、止めるものはありません"


def _file(folder, name: str, data: bytes):
    path = folder / "up" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_japanese_message_gets_no_english_lead_in():
    from lora_studio.ui.i18n import say, tr

    busy = tr("ja", "ls_busy")
    assert say("ja", busy, error=True) == busy
    assert say("ja", "there is no training run yet; start one in the Train tab", error=True) == \
        "まだ学習の実行がありません。学習のタブで開始してください"
    assert say("ja", "run 'キャラ' not found in /o", error=True) == "実行 'キャラ' は /o にありません"  # still translated
