"""lora_studio/text: every text exists in English and Japanese with the same placeholders; every key the code uses
exists; every error is raised with a key (so a plain English f-string raise anywhere fails here); and each of the
library's errors and warnings reads fully in Japanese in Japanese mode."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

import lora_studio
from lora_studio.config import TrainConfig, config_fields
from lora_studio.errors import ConfigError, UserError
from lora_studio.text import TEXTS, Text, is_key, render
from lora_studio.text.core import CORE
from lora_studio.text.help import HELP_JA, help_key, help_texts
from lora_studio.text.lesson import LESSON
from lora_studio.text.studio import STUDIO

PACKAGE = Path(lora_studio.__file__).parent
ALL = {**TEXTS, **help_texts()}
JAPANESE = re.compile(r"[ぁ-んァ-ン一-龥]")


def blanks(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# ---------------------------------------------------------------- the tables


def test_areas_do_not_share_keys():
    assert not set(CORE) & set(STUDIO) and not set(CORE) & set(LESSON) and not set(STUDIO) & set(LESSON)
    assert len(TEXTS) == len(CORE) + len(STUDIO) + len(LESSON)
    assert not [key for key in TEXTS if key.startswith("h__")]  # that prefix is the settings' help


@pytest.mark.parametrize("key", sorted(ALL))
def test_every_text_has_both_languages_and_the_same_placeholders(key):
    en, ja = ALL[key]
    assert ja.strip() and (en.strip() or key == "lesson.sentence_end"), key  # English ends its sentences itself
    assert blanks(en) == blanks(ja), key
    assert "英語の詳細" not in ja and "英語のメッセージ" not in ja, key  # no "English details" fallback


def test_every_setting_is_explained_in_both_languages():
    keys = [key for key, _, _ in config_fields(TrainConfig)]
    assert set(keys) == set(HELP_JA), "text/help.py and TrainConfig differ"
    for key in keys:
        en, ja = ALL[help_key(key)]
        assert en and ja and en != ja and JAPANESE.search(ja), key


def test_a_keyed_error_is_english_in_str_and_renders_any_language():
    error = ConfigError("config.unknown_key", key="train.lr", known="a, b")
    assert str(error) == "unknown key 'train.lr'; known keys here: a, b"
    assert error.render("en") == str(error)
    assert error.render("ja") == "'train.lr' という設定はありません。ここで使える設定: a, b"
    # values that are keyed texts render in the same language
    nested = UserError("train.write_failed_resume", failure=Text("io.write_failed", what=Text("io.what_status"),
                                                                 path="/r/status.json", advice=Text("io.advice_disk_full")))
    assert str(nested) == ("could not write the run status '/r/status.json': the disk is full; free some space; then "
                           "resume with train.resume=latest")
    assert nested.render("ja") == ("実行の状態ファイル '/r/status.json' を書き込めませんでした: ディスクがいっぱいです。"
                                   "空きを作ってください。直したら train.resume=latest で再開してください")


def test_an_error_keeps_its_key_through_pickle():
    import pickle

    error = pickle.loads(pickle.dumps(ConfigError("config.too_small", key="train.batch_size", value=0, lo=1)))
    assert type(error) is ConfigError and error.key == "config.too_small"
    assert error.render("ja") == "train.batch_size: 0 は小さすぎます。1 以上にしてください"


def test_a_plain_sentence_still_works_during_the_transition():
    error = UserError("a sentence from code written before keys")
    assert str(error) == error.render("ja") == "a sentence from code written before keys"
    assert render("no.such.key", "ja") == "no.such.key"


def test_a_text_survives_json():
    text = Text("data.skipped", name="a.png", reason=Text("data.reason_empty"))
    again = Text.from_json(text.to_json())
    assert again == text and again.render("ja") == text.render("ja") == "'a.png' は空のファイルです（0 バイト）。スキップしました"


# ---------------------------------------------------------------- the code uses keys, and only keys that exist


def _sources() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(PACKAGE.rglob("*.py"))]


def _error_classes(trees) -> set[str]:
    """UserError and every class of the package that derives from it (by name, to a fixpoint)."""
    names, grew = {"UserError"}, True
    while grew:
        grew = False
        for _, tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names and \
                        any(getattr(base, "id", getattr(base, "attr", None)) in names for base in node.bases):
                    names.add(node.name)
                    grew = True
    return names


def _called(node: ast.Call) -> str | None:
    return getattr(node.func, "id", getattr(node.func, "attr", None))


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _values_fit(node: ast.Call, key: str) -> bool:
    """The call names exactly the text's placeholders (unless it passes **values, checked when it runs)."""
    if any(k.arg is None for k in node.keywords):
        return True
    return {k.arg for k in node.keywords} == blanks(ALL[key][0])


def test_every_error_is_raised_with_a_key_that_exists_and_its_values():
    trees = _sources()
    errors = _error_classes(trees)
    assert {"ConfigError", "DatasetError", "BaseModelError", "TrainingStopped", "TrainingBusy"} <= errors
    bad = []
    for path, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called(node) in errors:
                key = _literal(node.args[0]) if node.args else None
                if key is None or not is_key(key) or not _values_fit(node, key):
                    where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                    bad.append(f"{where}: {ast.unparse(node)[:120]}")
    assert not bad, "raise errors with a key of lora_studio/text and its values:\n" + "\n".join(bad)


# the functions that take a key, and where in their arguments it is; a prefix for the lesson's own helpers
KEYED_CALLS = {"Text": (0, ""), "render": (0, ""), "tr": (1, ""), "line": (0, "lesson."),
               "explain": (0, "lesson.step.")}


def test_every_literal_key_the_code_uses_exists():
    missing, seen = [], 0
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _called(node) not in KEYED_CALLS:
                continue
            index, prefix = KEYED_CALLS[_called(node)]
            key = _literal(node.args[index]) if len(node.args) > index else None
            if key is None:
                continue  # built from a value (f"f_{name}"): covered by the tests of that screen
            seen += 1
            if not is_key(prefix + key) or (_called(node) != "explain" and not _values_fit(node, prefix + key)):
                missing.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {prefix + key}")
    assert seen > 100 and not missing, missing


# ---------------------------------------------------------------- the core library in Japanese


def _sample(spec: str) -> object:
    if "%" in spec:
        return 0.2
    if "," in spec or spec.endswith("d"):
        return 12345
    return None


def _sample_values(text: str) -> dict[str, object]:
    values = {}
    for _, name, spec, _ in string.Formatter().parse(text):
        if name:
            values[name] = _sample(spec or "") or f"/data/{name}"
    return values


def _has_english_sentence(text: str) -> bool:
    """True when `text` still reads as an English sentence (quoted names, setting keys and paths aside)."""
    bare = re.sub(r"'[^']*'|/data/\w+|[\w.]+[=_][\w.<>/]+|`[^`]*`", "", text)
    return bool(re.search(r"\b(is|are|the|it|was|not|to|of|and|or|a|an|use|with)\b", bare, re.IGNORECASE))


@pytest.mark.parametrize("key", sorted(CORE))
def test_each_core_error_and_warning_renders_fully_in_japanese(key):
    en, ja = CORE[key]
    values = _sample_values(en)
    english, japanese = render(key, "en", **values), render(key, "ja", **values)
    assert english == en.format(**values)
    frame = re.sub(r"{[^}]*}", "", ja)
    if not JAPANESE.search(frame):  # only a frame around other texts ("{path}: {reason}"): they are checked one by one
        assert not re.search(r"[A-Za-z]", frame), (key, ja)
        return
    assert JAPANESE.search(japanese), (key, japanese)
    assert not _has_english_sentence(japanese), (key, japanese)


def test_the_hardening_and_tagger_errors_read_in_japanese(tmp_path):
    from lora_studio.config import read_yaml
    from lora_studio.tag_options import TaggerError, TagOptions

    path = tmp_path / "shift_jis.yaml"
    path.write_bytes("name: キャラ\n".encode("shift_jis"))
    with pytest.raises(ConfigError) as caught:
        read_yaml(path)
    assert str(caught.value).startswith(f"config file '{path}' is not UTF-8 text (byte 0x")
    assert caught.value.render("ja").startswith(f"設定ファイル '{path}' は UTF-8 のテキストではありません")
    with pytest.raises(TaggerError) as caught:
        TagOptions(mode="merge").check()
    assert str(caught.value) == "mode 'merge' is unknown: use one of add, replace, keep"
    assert caught.value.render("ja") == "モード 'merge' はありません。次から選んでください: add, replace, keep"


def test_the_comparison_and_sdxl_errors_read_in_japanese(tmp_path):
    from lora_studio.compare import CompareOptions, plan
    from lora_studio.errors import BaseModelError
    from lora_studio.families import checkpoint_keys, family_from_checkpoint_keys
    from lora_studio.scores import resolve_scorer

    with pytest.raises(UserError) as caught:
        CompareOptions(strengths=[9.0]).validate()
    assert str(caught.value) == "strength 9.0 is out of range; use numbers between 0 and 2 such as 0.8"
    assert caught.value.render("ja") == "強さ 9.0 は範囲外です。0.8 のような 0 から 2 の数にしてください"
    with pytest.raises(UserError) as caught:
        plan(tmp_path, CompareOptions())
    assert str(caught.value) == f"'{tmp_path}' is not a run folder (no config.yaml); pass outputs/<run>"
    assert caught.value.render("ja").startswith(f"'{tmp_path}' は実行のフォルダーではありません")
    with pytest.raises(UserError) as caught:
        resolve_scorer("best", "tiny")
    assert str(caught.value) == "scorer 'best' is unknown; choose one of: auto, real, tiny"
    assert caught.value.render("ja") == "スコアのモデル 'best' はありません。次から選んでください: auto, real, tiny"
    with pytest.raises(BaseModelError) as caught:
        family_from_checkpoint_keys({"model.diffusion_model.input_blocks.0.0.weight"})
    assert str(caught.value).startswith("the checkpoint is not a Stable Diffusion 1.x, 2.x or SDXL checkpoint")
    assert caught.value.render("ja").startswith("このチェックポイント は Stable Diffusion 1.x・2.x・SDXL の")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    with pytest.raises(BaseModelError) as caught:
        checkpoint_keys(broken)
    assert str(caught.value).startswith(f"base checkpoint '{broken}' is not a readable .safetensors file: ")
    assert caught.value.render("ja").startswith(f"ベースのチェックポイント '{broken}' は読み込める .safetensors")
