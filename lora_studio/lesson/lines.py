"""The lesson's short lines in English and Japanese: what the CLI prints, the parameter summary, and the phrases
that `texts` fits into its explanations. `line(key, lang, **values)` fills one in."""

from __future__ import annotations

import unicodedata

LANGUAGES = ("en", "ja")

LINES: dict[str, dict[str, str]] = {
    # ---- what the CLI prints
    "stage_model": {"en": "1. The model", "ja": "1. モデル"},
    "stage_data": {"en": "2. The pictures", "ja": "2. 画像"},
    "stage_phase1": {"en": "3. Phase 1: transfer learning", "ja": "3. フェーズ1：転移学習"},
    "stage_phase2": {"en": "4. Phase 2: fine-tuning", "ja": "4. フェーズ2：ファインチューニング"},
    "stage_test": {"en": "5. The test", "ja": "5. テスト"},
    "stage_save": {"en": "6. Saved", "ja": "6. 保存"},
    "bar_download": {"en": "download", "ja": "ダウンロード"},
    "unpack": {"en": "unpacking the photos into {folder} ...", "ja": "写真を {folder} に展開しています…"},
    "bar_reading": {"en": "reading {split}", "ja": "{split} を読み込み中"},
    "bar_epoch": {"en": "phase {phase} epoch {epoch}", "ja": "フェーズ{phase} エポック{epoch}"},
    "bar_loss": {"en": "loss", "ja": "損失"},
    # ---- curves.png and predictions.png (Japanese only where a Japanese font is installed: report.py)
    "fig_accuracy_title": {"en": "Training and validation accuracy", "ja": "訓練と検証の正解率"},
    "fig_loss_title": {"en": "Training and validation loss", "ja": "訓練と検証の損失"},
    "fig_accuracy": {"en": "Accuracy", "ja": "正解率"},
    "fig_loss": {"en": "Cross-entropy loss", "ja": "交差エントロピー損失"},
    "fig_train_accuracy": {"en": "Training accuracy", "ja": "訓練の正解率"},
    "fig_val_accuracy": {"en": "Validation accuracy", "ja": "検証の正解率"},
    "fig_train_loss": {"en": "Training loss", "ja": "訓練の損失"},
    "fig_val_loss": {"en": "Validation loss", "ja": "検証の損失"},
    "fig_finetune": {"en": "Start fine-tuning", "ja": "ファインチューニング開始"},
    "fig_epoch": {"en": "epoch", "ja": "エポック"},
    "fig_is": {"en": "(is {label})", "ja": "（正解は {label}）"},
    "bar_accuracy": {"en": "accuracy", "ja": "正解率"},
    "classes": {"en": "classes: {classes}; images: {train} training, {validation} validation, {test} test",
                "ja": "クラス：{classes}　画像：訓練用 {train} 枚、検証用 {validation} 枚、テスト用 {test} 枚"},
    "skipped": {"en": "skipped {path}: {reason}", "ja": "読み込めないので飛ばしました：{path}（{reason}）"},
    "skip_not_image": {"en": "not an image file", "ja": "画像ファイルではありません"},
    "skip_damaged": {"en": "damaged or incomplete image", "ja": "画像が壊れているか、途中までしかありません"},
    "skip_other": {"en": "could not be read", "ja": "読み込めませんでした"},
    "initial": {"en": "before training: validation loss {loss}, accuracy {accuracy}",
                "ja": "学習前：検証の損失 {loss}、正解率 {accuracy}"},
    "epoch": {"en": "epoch {epoch:>3} (phase {phase}): loss {loss} accuracy {accuracy} | val_loss {val_loss} "
                    "val_accuracy {val_accuracy} ({seconds} s)",
              "ja": "エポック{epoch:>3}（フェーズ{phase}）：損失 {loss}　正解率 {accuracy} ｜ 検証の損失 {val_loss}　"
                    "検証の正解率 {val_accuracy}（{seconds} 秒）"},
    "test": {"en": "test loss {loss}, test accuracy {accuracy}", "ja": "テストの損失 {loss}、テストの正解率 {accuracy}"},
    "done": {"en": "done in {seconds} s on {device}. Results in {run_dir}: {files}",
             "ja": "完了しました（{device} で {seconds} 秒）。結果は {run_dir} にあります：{files}"},
    # ---- the parameter summary
    "title_phase1": {"en": "Phase 1: transfer learning (base frozen)", "ja": "フェーズ1：転移学習（ベースは凍結）"},
    "title_phase2_part": {"en": "Phase 2: fine-tuning (the last {pct} of the base's layers unfrozen)",
                          "ja": "フェーズ2：ファインチューニング（ベースの層の最後の{pct}の凍結を解除）"},
    "title_phase2_all": {"en": "Phase 2: fine-tuning (the whole base unfrozen)",
                         "ja": "フェーズ2：ファインチューニング（ベース全体の凍結を解除）"},
    "title_phase2_none": {"en": "Phase 2: fine-tuning (the base stays frozen)",
                          "ja": "フェーズ2：ファインチューニング（ベースは凍結のまま）"},
    "row_base": {"en": "MobileNetV2 base", "ja": "ベース（MobileNetV2）"},
    "row_base_note": {"en": "{n} of {layers} layers trainable", "ja": "{layers}層中{n}層が学習可能"},
    "row_head": {"en": "new head (Linear)", "ja": "新しいヘッド（Linear）"},
    "row_head_note": {"en": "trainable", "ja": "学習可能"},
    "total": {"en": "Total params:", "ja": "パラメーター合計："},
    "trainable": {"en": "Trainable params:", "ja": "学習可能："},
    "non_trainable": {"en": "Non-trainable params:", "ja": "学習不可（凍結）："},
    "keras": {"en": "Keras, and so the tutorial, also counts the base's {stats} BatchNorm running statistics, as "
                    "non-trainable:\nbase {base} ({base_trainable} trainable); total {total}, trainable {trainable}, "
                    "non-trainable {non_trainable}",
              "ja": "チュートリアルが使う Keras は、ベースの BatchNorm が覚えている平均と分散 {stats} 個も、学習不可の"
                    "パラメーターとして数えます：\nベース {base}（うち学習可能 {base_trainable}）、合計 {total}、"
                    "学習可能 {trainable}、学習不可 {non_trainable}"},
    # ---- phrases inside the explanations (texts.py)
    "epochs": {"en": "{n} epochs", "ja": "{n}エポック"},
    "as_tutorial": {"en": "(as in the tutorial)", "ja": "（チュートリアルと同じ）"},
    "phase1_tutorial": {"en": "(the tutorial: 1e-4, 10 epochs)", "ja": "（チュートリアルでは 1e-4、10エポック）"},
    "epochs_one": {"en": "1 epoch", "ja": "1エポック"},
    "tiny_whole": {"en": " That is why this run lets the whole base learn in phase 2.",
                   "ja": "そのため今回はフェーズ2でベース全体を学習させます。"},
    "aug_both": {"en": "each picture is randomly mirrored left-right and turned by up to {degrees} degrees ({turn} "
                       "of a full turn): this is called data augmentation.",
                 "ja": "学習中は、写真をランダムに左右反転し、最大{degrees}度（1回転の{turn}）まで回転させます（データ拡張）。"},
    "aug_flip": {"en": "each picture is randomly mirrored left-right: this is called data augmentation.",
                 "ja": "学習中は、写真をランダムに左右反転します（データ拡張）。"},
    "aug_turn": {"en": "each picture is randomly turned by up to {degrees} degrees ({turn} of a full turn): this is "
                       "called data augmentation.",
                 "ja": "学習中は、写真をランダムに最大{degrees}度（1回転の{turn}）まで回転させます（データ拡張）。"},
    "aug_none": {"en": "this run shows every picture exactly as it is (model.flip=false and model.rotation=0: no "
                       "data augmentation).",
                 "ja": "今回は学習中も写真をそのまま見せます（model.flip=false、model.rotation=0 なのでデータ拡張はしません）。"},
    "aug_effect": {"en": "The model never sees exactly the same picture twice, so it learns 'cat' rather than "
                         "memorising particular photos.",
                   "ja": "まったく同じ写真を二度見ることがないので、特定の写真を丸暗記するのではなく「猫らしさ」を学びます。"},
    "aug_effect_none": {"en": "That makes it easier for the model to memorise particular photos instead of "
                              "learning 'cat'.",
                        "ja": "そのため、「猫らしさ」を学ぶ代わりに、特定の写真を丸暗記しやすくなります。"},
    "gently": {"en": ", gently, with a smaller learning rate", "ja": "小さな学習率でそっと"},
    "then_part": {"en": "and only then let part of the base adjust{gently}",
                  "ja": "その後でベースの一部だけを{gently}調整します"},
    "then_all": {"en": "and only then let the whole base adjust{gently}", "ja": "その後でベース全体を{gently}調整します"},
    "then_none": {"en": "and in this run the base stays frozen in phase 2 as well",
                  "ja": "今回はフェーズ2でもベースを凍結したままにします"},
    "which_part": {"en": "'The last {pct}' means the last {n} of them here, from {where} to the end.",
                   "ja": "「最後の{pct}」は、ここでは最後の{n}個、つまり{where}から最後までです。"},
    "which_all": {"en": "This run unfreezes all of them.", "ja": "今回はそのすべての凍結を解きます。"},
    "which_none": {"en": "This run unfreezes none of them.", "ja": "今回はどれも凍結を解きません。"},
    "where_block": {"en": "block {block} of {blocks} (Keras calls that layer {keras})",
                    "ja": "全{blocks}ブロック中のブロック{block}（Keras での名前は {keras}）"},
    "where_first": {"en": "the very first block ({keras})", "ja": "最初のブロック（{keras}）"},
    "where_final": {"en": "the final 1x1 convolution ({keras})", "ja": "最後の1×1畳み込み（{keras}）"},
    "unfrozen_part": {"en": "the last {pct} of the base's layers ({n} of {layers}) are unfrozen and learn together "
                            "with the head",
                      "ja": "ベースの層の最後の{pct}（{layers}層中{n}層）の凍結を解き、ヘッドと一緒に学習させます"},
    "unfrozen_all": {"en": "the whole base (all {layers} layers) is unfrozen and learns together with the head",
                     "ja": "ベース全体（{layers}層すべて）の凍結を解き、ヘッドと一緒に学習させます"},
    "unfrozen_none": {"en": "no layer of the base is unfrozen (finetune.unfreeze_fraction=0), so only the head "
                            "keeps learning",
                      "ja": "ベースの層は1つも凍結を解かないので（finetune.unfreeze_fraction=0）、ヘッドだけが学習を続けます"},
    "rate_smaller": {"en": ", with a learning rate {times} times smaller than in phase 1 ({lr2} instead of {lr1})",
                     "ja": "学習率はフェーズ1の{times}分の1の {lr2} です（フェーズ1は {lr1}）"},
    "rate_same": {"en": ", with the same learning rate as in phase 1 ({lr2})",
                  "ja": "学習率はフェーズ1と同じ {lr2} です"},
    "rate_larger": {"en": ", with a learning rate {times} times larger than in phase 1 ({lr2} instead of {lr1})",
                    "ja": "学習率はフェーズ1の{times}倍の {lr2} です（フェーズ1は {lr1}）"},
    "rate_plain": {"en": ", with learning rate {lr2}", "ja": "学習率は {lr2} です"},
    "rate_head": {"en": "; the head learns {times} times as fast ({lr})",
                  "ja": "。ヘッドだけはその{times}倍の {lr} で学習します"},
    "sentence_end": {"en": "", "ja": "。"},
    "more_epochs": {"en": ", for {n} more epochs (epochs {first}-{last})",
                    "ja": "さらに{n}エポック（{first}〜{last}エポック目）続けます。"},
    "more_epochs_one": {"en": ", for 1 more epoch (epoch {first})", "ja": "さらに1エポック（{first}エポック目）続けます。"},
    "no_epochs": {"en": "; this run skips it (finetune.epochs=0)",
                  "ja": "今回は finetune.epochs=0 なので、フェーズ2は行いません。"},
    "why_smaller": {"en": "Small steps let the unfrozen layers adapt to the new classes without forgetting what "
                          "they knew. Usually accuracy gains another point or two. ",
                    "ja": "歩幅が小さいので、凍結を解いた層は、それまでの知識を忘れずに新しいクラスに合わせて少しずつ"
                          "調整されます。たいてい正解率がもう1〜2ポイント上がります。"},
    "why_tiny": {"en": "That is fine for the random 'tiny' base, which has nothing to forget; a pretrained base "
                       "needs smaller steps, or it loses what it learned. ",
                 "ja": "ランダムな 'tiny' ベースには忘れて困る知識がないので、この歩幅でかまいません。学習済みのベースなら、"
                       "もっと小さな学習率にしないと、覚えた特徴を壊してしまいます。"},
    "why_careful": {"en": "Careful: steps this large can wreck what a pretrained base learned; the tutorial uses a "
                          "tenth of phase 1's learning rate. ",
                    "ja": "注意：学習済みのベースをこの歩幅で学習させると、覚えた特徴を壊すおそれがあります。"
                          "チュートリアルではフェーズ1の10分の1の学習率を使います。"},
}


def line(key: str, lang: str = "en", **values: object) -> str:
    """One line in `lang` ('en' or 'ja') with `values` filled in."""
    if lang not in LANGUAGES:
        raise KeyError(f"no texts in language '{lang}'; choose one of: {', '.join(LANGUAGES)}")
    return LINES[key][lang].format(**values)


def fmt_lr(rate: float) -> str:
    """A learning rate the way the tutorial writes it: 1e-4, 2.5e-5."""
    if rate == 0:
        return "0"
    mantissa, exponent = f"{rate:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def fmt_pct(fraction: float, lang: str = "en") -> str:
    value = f"{fraction * 100:.1f}".removesuffix(".0")
    return f"{value} %" if lang == "en" else f"{value}%"


def fmt_times(ratio: float) -> str:
    return f"{ratio:.3g}"


def display_width(text: str) -> int:
    """Terminal columns: Japanese characters take two, so the summary's columns line up in both languages."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, right: bool = False) -> str:
    space = " " * max(0, width - display_width(text))
    return space + text if right else text + space
