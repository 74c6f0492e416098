"""Plain-language explanations of each lesson step, in English and Japanese: one source for the CLI and the studio.

Written for a reader who has never trained a model. `explain(step, lang)` returns one paragraph;
`explain_stage(stage, lang)` returns the paragraphs that belong before a stage of `run_lesson`.
"""

from __future__ import annotations

LANGUAGES = ("en", "ja")

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
              "freezing it teaches little; it only exists to try the whole flow offline in a minute. The quick "
              "config therefore lets the whole base learn in phase 2. For the real lesson use "
              "google/mobilenet_v2_1.0_224.",
        "ja": "注意：base 'tiny' は重みがランダムな小さい MobileNetV2 です。写真から何も学んでいないので、凍結しても"
              "あまり役に立ちません。オフラインで流れ全体を1分ほどで試すためだけのものです。そのため quick 設定では"
              "フェーズ2でベース全体を学習させます。本番のレッスンには google/mobilenet_v2_1.0_224 を使ってください。",
    },
    "data": {
        "en": "The photos come in folders: train/cats, train/dogs, validation/cats, validation/dogs. The folder name "
              "is the answer for every picture inside it. Each picture is shrunk to a square and the whole set is "
              "kept in memory. The model learns from the training pictures only; the others are for checking.",
        "ja": "写真はフォルダーに分かれています（train/cats、train/dogs、validation/cats、validation/dogs）。フォルダー名が"
              "その中の写真の正解です。写真は正方形に縮めてメモリーに読み込みます。モデルが学ぶのは訓練用の写真だけで、"
              "残りは確認用です。",
    },
    "download": {
        "en": "The tutorial's photos (2,000 for training, 1,000 for validation, about 69 MB) are downloaded once "
              "into datasets/. If the connection breaks, running again continues where it stopped.",
        "ja": "チュートリアルの写真（訓練用2,000枚、検証用1,000枚、約69MB）を一度だけ datasets/ にダウンロードします。"
              "途中で接続が切れても、もう一度実行すれば続きから再開します。",
    },
    "split": {
        "en": "We set aside a fifth of the validation pictures as a test set, chosen at random with a fixed seed. "
              "Validation pictures are checked after every epoch to watch progress; test pictures are looked at only "
              "once, at the very end, to give an honest final score.",
        "ja": "検証用の写真の5分の1を、乱数の種を固定してランダムに選び「テスト用」として取っておきます。検証用は毎エポック"
              "の後に成績を見るために使い、テスト用は最後に一度だけ使って正直な最終成績を出します。",
    },
    "augmentation": {
        "en": "While training, each picture is randomly mirrored left-right and turned by up to a fifth of a full "
              "circle. The model never sees exactly the same picture twice, so it learns 'cat' rather than "
              "memorising particular photos. Checking and testing use the pictures as they are.",
        "ja": "学習中は、写真をランダムに左右反転し、最大で一回転の5分の1まで回転させます（データ拡張）。まったく同じ写真を"
              "二度見ることがないので、特定の写真を丸暗記するのではなく「猫らしさ」を学びます。検証とテストでは写真をそのまま使います。",
    },
    "layers": {
        "en": "What counts as a layer: every convolution and every BatchNorm of the base, in the order the picture "
              "passes through them (104 in MobileNetV2). 'The last 25 %' means the last 26 of them: the last four "
              "blocks and the final 1x1 convolution. Keras counts 154 layers because it also counts steps without "
              "weights, such as activations and additions.",
        "ja": "ここでいう「層」は、ベースの畳み込みと BatchNorm のそれぞれを、画像が通る順に数えたものです（MobileNetV2 で104個）。"
              "「最後の25%」は最後の26個、つまり最後の4ブロックと最後の1×1畳み込みです。Keras は重みを持たない活性化や足し算も"
              "数えるので154層になります。",
    },
    "summary": {
        "en": "Before each phase you see a parameter summary. Parameters are the numbers the model can adjust. "
              "'Trainable' ones change during this phase; 'non-trainable' ones are frozen and stay exactly as they are.",
        "ja": "各フェーズの前にパラメーターの一覧を表示します。パラメーターはモデルが調整できる数です。「学習可能」な"
              "ものはこのフェーズで変わり、「学習不可」のものは凍結されていて、まったく変わりません。",
    },
    "phase1": {
        "en": "Phase 1, transfer learning: the whole base is frozen and only the new head learns (in the tutorial: "
              "AdamW, learning rate 1e-4, 10 epochs). An epoch is one pass over all training pictures. The head starts by guessing, "
              "so accuracy begins near 50 % and climbs quickly because the base's 1,280 numbers already describe "
              "cats and dogs well.",
        "ja": "フェーズ1（転移学習）：ベース全体を凍結し、新しいヘッドだけを学習します（チュートリアルでは AdamW、学習率 1e-4、10エポック）。"
              "1エポックは訓練用の写真全部を1回ずつ見ることです。最初のヘッドは当てずっぽうなので正解率は約50%から始まり、"
              "ベースの1,280個の数がすでに猫と犬をよく表しているので、すぐに上がります。",
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
              "million photos learning. So we first let the head settle while the base is frozen, and only then "
              "let part of the base adjust, gently.",
        "ja": "2段階に分ける理由：作ったばかりのヘッドは最初、大きく間違えます。その大きな誤差でベースまで学習させると、"
              "大きな修正がベースに流れ込み、100万枚の写真で身につけた特徴を壊してしまいます。そこで、まずベースを凍結して"
              "ヘッドを落ち着かせ、その後でベースの一部だけをそっと調整します。",
    },
    "phase2": {
        "en": "Phase 2, fine-tuning: the last 25 % of the base's layers are unfrozen and learn together with the "
              "head, with a learning rate ten times smaller (the tutorial: 1e-5, 10 more epochs). Small steps let the most "
              "specialised layers adapt to cats and dogs without forgetting what they knew. Usually accuracy "
              "gains another point or two.",
        "ja": "フェーズ2（ファインチューニング）：ベースの最後の25%の層の凍結を解き、ヘッドと一緒に、10分の1の学習率"
              "（チュートリアルでは 1e-5 でさらに10エポック）で学習します。小さな歩幅なので、最も専門的な層が知識を忘れずに猫と犬に合わせて"
              "調整されます。たいてい正解率がもう1〜2ポイント上がります。",
    },
    "curves": {
        "en": "curves.png shows loss (how wrong, lower is better) and accuracy (share of right answers) for "
              "training and validation after each epoch. The dashed line marks where fine-tuning starts.",
        "ja": "curves.png には、各エポックの後の訓練用と検証用の損失（間違いの大きさ、低いほど良い）と正解率が描かれています。"
              "点線はファインチューニングを始めた位置です。",
    },
    "val_beats_train": {
        "en": "Why validation can score better than training here: training pictures are made harder on purpose "
              "(mirrored and rotated, and with dropout some features switched off), while validation pictures are shown as they are. "
              "Also, the training score is an average over the whole epoch, including the early steps when the "
              "model was worse; the validation score is measured at the end of the epoch.",
        "ja": "ここで検証の成績が訓練より良くなることがある理由：訓練用の写真はわざと難しくしてあります（反転・回転、ドロップアウトを使う場合は特徴の一部を消す）が、"
              "検証用の写真はそのまま見せます。また、訓練の成績はエポック全体の平均で、まだ下手だった最初のころも含みます。"
              "検証の成績はエポックの終わりに測ります。",
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
        "en": "Try it on your own photos: lora-studio lesson-predict RUN_FOLDER photo.jpg prints the answer and how "
              "sure the model is (a probability between 0 and 100 %).",
        "ja": "自分の写真で試してみましょう：lora-studio lesson-predict 実行フォルダー photo.jpg で、答えとモデルの自信"
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


def explain(step: str, lang: str = "en") -> str:
    """One explanation; `lang` is 'en' or 'ja'."""
    if step not in TEXTS:
        raise KeyError(f"no explanation for step '{step}'; known steps: {', '.join(TEXTS)}")
    if lang not in LANGUAGES:
        raise KeyError(f"no explanations in language '{lang}'; choose one of: {', '.join(LANGUAGES)}")
    return TEXTS[step][lang]


def explain_stage(stage: str, lang: str = "en") -> list[str]:
    """The paragraphs shown before a stage of `run_lesson` (empty for a stage without text)."""
    return [explain(step, lang) for step in STAGES.get(stage, ())]
