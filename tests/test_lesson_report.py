"""The lesson's figures: titles and legends in the run's language where a Japanese font is installed, English
labels (never empty boxes) where none is."""

from __future__ import annotations

import warnings

import pytest
import torch
from matplotlib import font_manager

from lora_studio.lesson import report

HISTORY = [{"epoch": e, "train_accuracy": 0.6 + e / 10, "val_accuracy": 0.55 + e / 10, "train_loss": 1 / e,
            "val_loss": 1.2 / e} for e in (1, 2, 3)]
A_FONT = font_manager.findfont("DejaVu Sans")  # stands in for the Japanese font the lookup would find


def texts(fig) -> list[str]:
    found = []
    for ax in fig.axes:
        found += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        if ax.get_legend():
            found += [t.get_text() for t in ax.get_legend().get_texts()]
    return [t for t in found if t]


def fonts(fig) -> set[str]:
    return {ax.title.get_fontproperties().get_file() for ax in fig.axes if ax.get_title()}


@pytest.fixture
def font_found(monkeypatch):
    monkeypatch.setattr(report, "_cjk_font", [A_FONT])  # whatever file the lookup found


@pytest.fixture
def no_font(monkeypatch):
    monkeypatch.setattr(report, "_cjk_font", [None])


@pytest.mark.filterwarnings("ignore:Glyph")  # the stand-in font has no Japanese glyphs
def test_japanese_titles_and_legends_in_the_japanese_font(font_found):
    fig = report.curves_figure(HISTORY, finetune_start=2, lang="ja")
    labels = texts(fig)
    assert "訓練と検証の正解率" in labels and "検証の損失" in labels and "ファインチューニング開始" in labels
    assert "エポック" in labels and not any("Training" in t or "Validation" in t for t in labels)
    assert fonts(fig) == {A_FONT}
    grid = report.predictions_figure(torch.rand(2, 3, 8, 8), ["cats", "dogs"], [("cats", 0.9), ("cats", 0.7)], "ja")
    assert texts(grid) == ["cats 90%", "cats 70%\n（正解は dogs）"] and fonts(grid) == {A_FONT}


def test_without_a_japanese_font_the_labels_stay_english(no_font):
    labels = texts(report.curves_figure(HISTORY, finetune_start=2, lang="ja"))
    assert "Training and validation accuracy" in labels and "Start fine-tuning" in labels
    assert not any("訓練" in t for t in labels)
    assert report.figure_language("ja") == ("en", {})


def test_english_runs_are_labelled_in_english(font_found):
    labels = texts(report.curves_figure(HISTORY, finetune_start=None, lang="en"))
    assert labels[0] == "Training and validation accuracy"
    assert "Training accuracy" in labels and "Cross-entropy loss" in labels


def test_an_installed_japanese_font_draws_every_glyph(tmp_path):
    report._cjk_font.clear()
    if report.cjk_font() is None:
        pytest.skip("no Japanese font installed (apt-get install fonts-ipafont-gothic or fonts-noto-cjk)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report.plot_curves(HISTORY, 2, tmp_path / "curves.png", "ja")
    assert not [w for w in caught if "missing from" in str(w.message)]
    assert (tmp_path / "curves.png").stat().st_size > 10_000
