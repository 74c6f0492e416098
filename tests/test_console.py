"""The command line's language (console.py): --lang, LORA_STUDIO_LANG or the system's locale picks English or
Japanese for errors, warnings and what the commands print; the trainer process follows."""

from __future__ import annotations

import logging
import os

import pytest
from trainer_runs import STATUS_UNWRITABLE_SITECUSTOMIZE, train_in_a_process

from lora_studio.cli import main
from lora_studio.console import LANG_ENV, console_language, setup_logging
from lora_studio.errors import UserError
from lora_studio.text import Text


@pytest.mark.parametrize(("environ", "lang"), [
    ({}, "en"),
    ({"LANG": "ja_JP.UTF-8"}, "ja"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "ja_JP.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),  # POSIX: LC_MESSAGES before LANG
    ({"LC_ALL": "ja_JP.eucJP", "LC_MESSAGES": "en_US.UTF-8"}, "ja"),  # and LC_ALL before both
    ({"LANG": "en_US.UTF-8", LANG_ENV: "ja"}, "ja"),  # ours first
    ({"LANG": "ja_JP.UTF-8", LANG_ENV: " EN "}, "en"),
])
def test_the_language_comes_from_ours_then_the_locale(environ, lang):
    assert console_language(environ) == lang


def test_an_unknown_language_is_refused_by_name_when_a_command_starts(monkeypatch, capsys):
    with pytest.raises(UserError, match="LORA_STUDIO_LANG='fr'.*en or ja"):
        console_language({LANG_ENV: "fr"}, strict=True)
    assert console_language({LANG_ENV: "fr", "LANG": "ja_JP.UTF-8"}) == "ja"  # inside the studio: passed over
    monkeypatch.setenv(LANG_ENV, "fr")
    assert main(["sample-dataset", "unused"]) == 2
    assert "LORA_STUDIO_LANG='fr'" in capsys.readouterr().err


def test_a_bad_config_is_named_in_japanese(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(LANG_ENV, "en")  # restored after the test, although --lang sets it for the trainer
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: tiny\ntrain:\n  max_train_step: 5\n", encoding="utf-8")
    assert main(["--lang", "ja", "train", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == "エラー: " + _raised(bad).render("ja") + "\n" and "train.max_train_step" in err
    assert os.environ[LANG_ENV] == "ja"  # what the trainer process it would start inherits
    monkeypatch.setenv(LANG_ENV, "en")
    assert main(["train", str(bad)]) == 2
    assert capsys.readouterr().err == f"error: {_raised(bad)}\n"


def _raised(config_path) -> UserError:
    from lora_studio.config import load_config

    with pytest.raises(UserError) as caught:
        load_config(config_path, [])
    return caught.value


def test_warnings_logged_with_a_keyed_text_print_in_the_chosen_language(capsys):
    log = logging.getLogger("lora_studio.test_console")
    text = Text("console.no_details")
    try:
        setup_logging("ja")
        log.warning("dataset: %s", text)
        assert capsys.readouterr().err == "dataset: 詳細なし\n"
        setup_logging("en")
        log.warning("dataset: %s", text)
        assert capsys.readouterr().err == "dataset: no details\n"
    finally:
        logging.basicConfig(force=True)


def test_tagging_prints_in_japanese(monkeypatch, tmp_path, test_tagger_folder, capsys):
    from lora_studio.sample_data import make_sample_dataset

    monkeypatch.setenv(LANG_ENV, "ja")
    dataset = make_sample_dataset(tmp_path / "d", count=3, size=64)
    assert main(["tag", str(dataset), "--model", str(test_tagger_folder), "--trigger", "mychar", "--mode",
                 "replace"]) == 0
    out = capsys.readouterr().out
    assert "3 枚中 3 枚にタグを付け" in out and "元に戻すには: lora-studio tag" in out
    assert "picture(s)" not in out


@pytest.mark.slow
def test_the_trainer_process_speaks_the_language_of_the_command(tmp_path):
    """A message from inside the trainer (here: its status file cannot be written) comes in Japanese too."""
    from lora_studio.sample_data import make_sample_dataset

    dataset = make_sample_dataset(tmp_path / "dataset", count=4, size=64)
    out, run = train_in_a_process(dataset, tmp_path, 2, STATUS_UNWRITABLE_SITECUSTOMIZE, ("--lang", "ja"))
    assert out.returncode == 2, out.stderr[-3000:]
    assert f"エラー: 実行の状態ファイル '{run / 'status.json'}' を書き込めませんでした" in out.stderr, out.stderr[-3000:]
