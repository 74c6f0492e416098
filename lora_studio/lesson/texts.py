"""Plain-language explanations of each lesson step, in English and Japanese: one source for the CLI and the studio.

Written for a reader who has never trained a model. The numbers in them come from the run itself: pass the
`facts` dict that `run_lesson` puts into every "stage" event (see `lesson.facts.lesson_facts`); without it the
tutorial's own settings are described. `place` says where the text is shown ("cli" or "studio"), so the last
step points at the command line or at the studio's "Classify my photo" box.

    explain(step, lang, facts=None, place="cli")          -> one paragraph
    explain_stage(stage, lang, facts=None, place="cli")   -> the paragraphs shown before a stage of run_lesson
"""

from __future__ import annotations

from typing import Any

from .lines import LANGUAGES, fmt_lr, fmt_pct, fmt_times, line

PLACES = ("cli", "studio")

# What the texts describe when no run's facts are given: the tutorial (and our default config).
TUTORIAL: dict[str, Any] = {
    "transfer_lr": 1e-4, "transfer_epochs": 10, "finetune_lr": 1e-5, "finetune_epochs": 10, "head_lr_multiplier": 1.0,
    "unfreeze_fraction": 0.24, "layers": 104, "unfrozen_layers": 25, "blocks": 16, "first_block": 13,
    "keras_first_unfrozen": "block_13_expand_BN", "test_fraction": 0.2, "flip": True, "rotation": 0.2, "dropout": 0.0,
    "data_dir": "datasets/cats_and_dogs_filtered", "run_dir": "outputs/lesson-cats-dogs", "tiny": False,
}

TEXTS: dict[str, dict[str, str]] = {
    "intro": {
        "en": "This lesson teaches a computer to tell cats from dogs in photos. Instead of starting from zero, we "
              "borrow a network called MobileNetV2 that has already looked at more than a million photos of a "
              "thousand kinds of things. We keep what it learned and only teach it our two new answers.",
        "ja": "このレッスンでは、写真に写っているのが猫か犬かをコンピューターに見分けさせます。ゼロから教えるのではなく、"
              "100万枚以上・1000種類の写真ですでに学習した MobileNetV2 というネットワークを借ります。"
              "その知識はそのまま使い、新しい2つの答え（猫・犬）だけを教えます。これを「転移学習」といいます。",
    },
    "model": {
        "en": "The model has two parts. The base (MobileNetV2) turns a picture into 1,280 numbers that describe "
              "what it sees: edges, fur, ears, shapes. We throw away its old last layer, which chose among a thousand "
              "ImageNet categories, and add a new, tiny head: 1,280 x 2 weights plus 2 offsets (2,562 numbers) that "
              "turn those 1,280 numbers into a score for each of our classes.",
        "ja": "モデルは2つの部分からできています。土台（ベース）の MobileNetV2 は、画像を「何が見えるか」（輪郭、毛並み、"
              "耳、形など）を表す1,280個の数に変えます。元の最後の層（1000種類から選ぶ部分）は捨てて、新しい小さな"
              "「ヘッド」を付けます。1,280×2個の重みと2個の偏り、合計2,562個の数で、1,280個の数を各クラスの点数に変えます。",
    },
    "scaling": {
        "en": "Pictures arrive as brightness values from 0 to 255. MobileNetV2 was trained on values from -1 to 1, "
              "so the model rescales every picture first. It does this inside the model, so a saved model cannot be "
              "fed wrongly scaled pictures later.",
        "ja": "画像は 0〜255 の明るさの値で入ってきますが、MobileNetV2 は -1〜1 の値で学習されています。そこでモデルの"
              "中で最初に値を変換します。モデルの中で行うので、保存したモデルを後で使うときにも変換を忘れることがありません。",
    },
    "tiny": {
        "en": "Note: base 'tiny' is a small MobileNetV2 with random weights. It has learned nothing from photos, so "
              "freezing it teaches little; it only exists to try the whole flow offline in a minute.{whole} For the "
              "real lesson use google/mobilenet_v2_1.0_224.",
        "ja": "注意：base 'tiny' は重みがランダムな小さい MobileNetV2 です。写真から何も学んでいないので、凍結しても"
              "あまり役に立ちません。オフラインで流れ全体を1分ほどで試すためだけのものです。{whole}本番のレッスンには "
              "google/mobilenet_v2_1.0_224 を使ってください。",
    },
    "data": {
        "en": "The pictures come in folders, one per answer: for the tutorial train/cats, train/dogs, validation/cats "
              "and validation/dogs. The folder name is the answer for every picture inside it. Each picture is shrunk "
              "to a square and the whole set is kept in memory. The model learns from the training pictures only; the "
              "others are for checking.",
        "ja": "写真は答えごとのフォルダーに分かれています（チュートリアルでは train/cats、train/dogs、validation/cats、"
              "validation/dogs）。フォルダー名がその中の写真の正解です。写真は正方形に縮めてメモリーに読み込みます。"
              "モデルが学ぶのは訓練用の写真だけで、残りは確認用です。",
    },
    "download": {
        "en": "The tutorial's photos (2,000 for training, 1,000 for validation, about 69 MB) are downloaded once "
              "into {folder}. If the connection breaks, running again continues where it stopped.",
        "ja": "チュートリアルの写真（訓練用2,000枚、検証用1,000枚、約69MB）を一度だけ {folder} にダウンロードします。"
              "途中で接続が切れても、もう一度実行すれば続きから再開します。",
    },
    "split": {
        "en": "We set aside {pct} of the validation pictures as a test set, chosen at random with a fixed seed. "
              "Validation pictures are checked after every epoch to watch progress; test pictures are looked at only "
              "once, at the very end, to give an honest final score.",
        "ja": "検証用の写真の{pct}を、乱数の種を固定してランダムに選び「テスト用」として取っておきます。検証用は毎エポック"
              "の後に成績を見るために使い、テスト用は最後に一度だけ使って正直な最終成績を出します。",
    },
    "augmentation": {
        "en": "While training, {ops} {effect} Checking and testing use the pictures as they are.",
        "ja": "{ops}{effect}検証とテストでは写真をそのまま使います。",
    },
    "layers": {
        "en": "What counts as a layer: every convolution and every BatchNorm of the base, in the order the picture "
              "passes through them ({layers} here). {which} Keras counts 154 layers in MobileNetV2 because it also "
              "counts steps without weights, such as activations and additions. The tutorial speaks of 'the last "
              "25 %', but its cut unfreezes 37 of those 154, from block_13_expand_BN on: 25 of our 104, which is "
              "24 %. That is why the real lesson's setting is 0.24: the counts of trainable parameters then match "
              "the tutorial's exactly.",
        "ja": "ここでいう「層」は、ベースの畳み込みと BatchNorm のそれぞれを、画像が通る順に数えたものです（今回は"
              "{layers}個）。{which}Keras は重みを持たない活性化や足し算も数えるので、MobileNetV2 を154層と数えます。"
              "チュートリアルは「最後の25%」と書いていますが、実際に凍結を解いているのはその154層のうち "
              "block_13_expand_BN から後ろの37層で、ここでの数え方では104層中25層、つまり24%です。そのため本番の"
              "レッスンの設定は 0.24 にしてあり、学習可能なパラメーターの数がチュートリアルとぴったり同じになります。",
    },
    "summary": {
        "en": "Before each phase you see a parameter summary. Parameters are the numbers the model can adjust. "
              "'Trainable' ones change during this phase; 'non-trainable' ones are frozen and stay exactly as they are.",
        "ja": "各フェーズの前にパラメーターの一覧を表示します。パラメーターはモデルが調整できる数です。「学習可能」な"
              "ものはこのフェーズで変わり、「学習不可」のものは凍結されていて、まったく変わりません。",
    },
    "phase1": {
        "en": "Phase 1, transfer learning: the whole base is frozen and only the new head learns. This run: AdamW, "
              "learning rate {lr}, {epochs} {tutorial}. An epoch is one pass over all training "
              "pictures. The head starts by guessing, so accuracy begins near 50 % and climbs quickly because the "
              "base's 1,280 numbers already describe cats and dogs well.",
        "ja": "フェーズ1（転移学習）：ベース全体を凍結し、新しいヘッドだけを学習します。今回は AdamW、学習率 {lr}、"
              "{epochs}です{tutorial}。1エポックは訓練用の写真全部を1回ずつ見ることです。"
              "最初のヘッドは当てずっぽうなので正解率は約50%から始まり、ベースの1,280個の数がすでに猫と犬をよく"
              "表しているので、すぐに上がります。",
    },
    "batchnorm": {
        "en": "Why BatchNorm stays in inference mode: BatchNorm layers keep running averages of what the base saw "
              "on a million photos. If they updated from our small batches, those averages would drift, every later "
              "layer would receive different numbers than it was trained on, and what the base knows would be "
              "damaged. So they keep their stored averages in both phases, even in the layers we unfreeze.",
        "ja": "BatchNorm を推論モードのままにする理由：BatchNorm 層は、100万枚の写真で見た値の平均を覚えています。"
              "小さなバッチでその平均を更新すると値がずれて、後ろの層が学習時と違う数を受け取ることになり、ベースの知識が"
              "壊れてしまいます。そのため両方のフェーズで、凍結を解いた層でも、保存された平均をそのまま使います。",
    },
    "two_phases": {
        "en": "Why two phases: a brand-new head makes big mistakes at first. If the base could learn from those "
              "first big mistakes, the large corrections would flow back into it and wreck the features it spent a "
              "million photos learning. So we first let the head settle while the base is frozen, {then}.",
        "ja": "2段階に分ける理由：作ったばかりのヘッドは最初、大きく間違えます。その大きな誤差でベースまで学習させると、"
              "大きな修正がベースに流れ込み、100万枚の写真で身につけた特徴を壊してしまいます。そこで、まずベースを凍結して"
              "ヘッドを落ち着かせ、{then}。",
    },
    "phase2": {
        "en": "Phase 2, fine-tuning: {unfrozen}{rate}{epochs}. {why}(The tutorial: the last quarter of the layers, "
              "at 1e-5, a tenth of phase 1's learning rate, for 10 more epochs.)",
        "ja": "フェーズ2（ファインチューニング）：{unfrozen}。{rate}{epochs}{why}（チュートリアルでは、最後の約4分の1の"
              "層を、フェーズ1の10分の1の学習率 1e-5 でさらに10エポック学習します。）",
    },
    "curves": {
        "en": "curves.png shows loss (how wrong, lower is better) and accuracy (share of right answers) for "
              "training and validation after each epoch. The dashed line marks where fine-tuning starts.",
        "ja": "curves.png には、各エポックの後の訓練用と検証用の損失（間違いの大きさ、低いほど良い）と正解率が描かれています。"
              "点線はファインチューニングを始めた位置です。",
    },
    "val_beats_train": {
        "en": "Why validation can score better than training here: training pictures are made harder on purpose "
              "(mirrored and rotated, and with dropout some features switched off), while validation pictures are "
              "shown as they are. Also, the training score is an average over the whole epoch, including the early "
              "steps when the model was worse; the validation score is measured at the end of the epoch.",
        "ja": "ここで検証の成績が訓練より良くなることがある理由：訓練用の写真はわざと難しくしてあります（反転・回転、"
              "ドロップアウトを使う場合は特徴の一部を消す）が、検証用の写真はそのまま見せます。また、訓練の成績はエポック"
              "全体の平均で、まだ下手だった最初のころも含みます。検証の成績はエポックの終わりに測ります。",
    },
    "test": {
        "en": "Finally the model sees the test pictures it has never seen before. This one number is the honest "
              "answer to 'how often is it right on new photos?' (the tutorial reached about 99 %).",
        "ja": "最後に、一度も見たことのないテスト用の写真で成績を測ります。この数字が「新しい写真でどれくらい当たるか」への"
              "正直な答えです（チュートリアルでは約99%）。",
    },
    "save": {
        "en": "The trained model is saved in the run folder (model.safetensors and model_config.json), with "
              "predictions.png showing nine test pictures and what the model said about each.",
        "ja": "学習したモデルは実行フォルダーに保存されます（model.safetensors と model_config.json）。predictions.png には"
              "テスト画像9枚と、それぞれへのモデルの答えが表示されます。",
    },
    "predict": {
        "en": "Try it on your own photos: lora-studio lesson-predict {run_dir} photo.jpg prints the answer and how "
              "sure the model is (a probability between 0 and 100 %).",
        "ja": "自分の写真で試してみましょう：lora-studio lesson-predict {run_dir} photo.jpg と実行すると、答えとモデルの"
              "自信（0〜100%の確率）が表示されます。",
    },
    "predict_studio": {  # the studio shows this instead of "predict": its upload box is right below
        "en": "Try it on your own photos: upload one under 'Classify my photo' below, and the model says what it "
              "sees and how sure it is (a probability between 0 and 100 %).",
        "ja": "自分の写真で試してみましょう：下の「自分の写真を分類」に写真をアップロードすると、モデルの答えと自信"
              "（0〜100%の確率）が表示されます。",
    },
}

STAGES: dict[str, tuple[str, ...]] = {
    "model": ("intro", "model", "scaling"),
    "data": ("data", "split", "augmentation"),
    "phase1": ("summary", "phase1", "batchnorm"),
    "phase2": ("two_phases", "phase2", "layers"),
    "test": ("test",),
    "save": ("save", "curves", "val_beats_train", "predict"),
}


def _how_many(f: dict) -> str:
    """'all', 'none' or 'part': how much of the base phase 2 unfreezes."""
    return "none" if f["unfrozen_layers"] <= 0 else "all" if f["unfrozen_layers"] >= f["layers"] else "part"


def _where(f: dict, lang: str) -> str:
    """Where the unfrozen layers start, in words, with Keras' name for comparison with the tutorial."""
    block, keras = f.get("first_block"), f.get("keras_first_unfrozen", "")
    if block is None:
        return line("where_final", lang, keras=keras)
    if block == 0:
        return line("where_first", lang, keras=keras)
    return line("where_block", lang, block=block, blocks=f["blocks"], keras=keras)


def _rate(f: dict, lang: str) -> str:
    """Phase 2's learning rate compared with phase 1's (and the head's, when it differs)."""
    lr1, lr2 = f["transfer_lr"], f["finetune_lr"]
    values = {"lr1": fmt_lr(lr1), "lr2": fmt_lr(lr2)}
    if lr1 <= 0 or lr2 <= 0:
        text = line("rate_plain", lang, **values)
    elif abs(lr2 / lr1 - 1) < 1e-9:
        text = line("rate_same", lang, **values)
    elif lr2 < lr1:
        text = line("rate_smaller", lang, times=fmt_times(lr1 / lr2), **values)
    else:
        text = line("rate_larger", lang, times=fmt_times(lr2 / lr1), **values)
    if f["head_lr_multiplier"] != 1:
        text += line("rate_head", lang, times=fmt_times(f["head_lr_multiplier"]),
                     lr=fmt_lr(lr2 * f["head_lr_multiplier"]))
    return text + line("sentence_end", lang)


def _values(step: str, lang: str, f: dict) -> dict[str, str]:
    """The run's numbers (and the sentences that depend on them) for one step's template."""
    if step == "tiny":
        # Shown before the base is loaded, so the layer counts are not known yet: the fraction says it.
        return {"whole": line("tiny_whole", lang) if f["unfreeze_fraction"] >= 1 else ""}
    if step == "predict":
        return {"run_dir": str(f["run_dir"])}
    if step == "download":
        return {"folder": str(f["data_dir"])}
    if step == "split":
        return {"pct": fmt_pct(f["test_fraction"], lang)}
    if step == "augmentation":
        kind = "both" if f["flip"] and f["rotation"] else "flip" if f["flip"] else "turn" if f["rotation"] else "none"
        return {"ops": line(f"aug_{kind}", lang, degrees=f"{f['rotation'] * 360:g}", turn=f"{f['rotation']:g}"),
                "effect": line("aug_effect_none" if kind == "none" else "aug_effect", lang)}
    if step == "phase1":
        same = (f["transfer_lr"], f["transfer_epochs"]) == (TUTORIAL["transfer_lr"], TUTORIAL["transfer_epochs"])
        return {"tutorial": line("as_tutorial" if same else "phase1_tutorial", lang), "lr": fmt_lr(f["transfer_lr"]),
                "epochs": line("epochs_one" if f["transfer_epochs"] == 1 else "epochs", lang,
                                                                 n=f["transfer_epochs"])}
    how = _how_many(f)
    smaller = 0 < f["finetune_lr"] < f["transfer_lr"]
    if step == "two_phases":
        return {"then": line(f"then_{how}", lang, gently=line("gently", lang) if smaller else "")}
    if step == "layers":
        return {"layers": str(f["layers"]),
                "which": line(f"which_{how}", lang, pct=fmt_pct(f["unfreeze_fraction"], lang), n=f["unfrozen_layers"],
                              where=_where(f, lang) if how == "part" else "")}
    if step == "phase2":
        first = f["transfer_epochs"] + 1
        n = f["finetune_epochs"]
        epochs = (line("no_epochs", lang) if n == 0 else line("more_epochs_one", lang, first=first) if n == 1 else
                  line("more_epochs", lang, n=n, first=first, last=first + n - 1))
        why = "" if how == "none" else "why_smaller" if smaller else "why_tiny" if f["tiny"] else "why_careful"
        return {"unfrozen": line(f"unfrozen_{how}", lang, pct=fmt_pct(f["unfreeze_fraction"], lang),
                                 n=f["unfrozen_layers"], layers=f["layers"]),
                "rate": "" if how == "none" else _rate(f, lang), "epochs": epochs,
                "why": line(why, lang) if why else ""}
    return {}


def explain(step: str, lang: str = "en", facts: dict | None = None, place: str = "cli") -> str:
    """One explanation; `lang` is 'en' or 'ja', `facts` the stage event's (tutorial numbers when None)."""
    if place == "studio" and f"{step}_studio" in TEXTS:
        step = f"{step}_studio"
    if step not in TEXTS:
        raise KeyError(f"no explanation for step '{step}'; known steps: {', '.join(TEXTS)}")
    if lang not in LANGUAGES:
        raise KeyError(f"no explanations in language '{lang}'; choose one of: {', '.join(LANGUAGES)}")
    if place not in PLACES:
        raise KeyError(f"no place '{place}'; choose one of: {', '.join(PLACES)}")
    return TEXTS[step][lang].format(**_values(step, lang, {**TUTORIAL, **(facts or {})}))


def explain_stage(stage: str, lang: str = "en", facts: dict | None = None, place: str = "cli") -> list[str]:
    """The paragraphs shown before a stage of `run_lesson` (empty for a stage without text)."""
    return [explain(step, lang, facts, place) for step in STAGES.get(stage, ())]
