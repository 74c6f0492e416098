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
    assert tr("en", "ds_saved", n=3, name="x") == "Saved 3 file(s) to dataset **x**."
    assert tr("ja", "ds_saved", n=3, name="x").startswith("データセット **x** に 3 個")
    assert tr("ja", "no-such-key") == "no-such-key"
    assert I18N.translations_dict["ja"]["tab_train"] == "2. 学習"
    assert all("." not in key for key in I18N.translations_dict["en"])  # dots would nest in the browser

