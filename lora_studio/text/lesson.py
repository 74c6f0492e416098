"""The lesson's texts, by key: `{key: (english, japanese)}`.

"lesson.<key>": its short lines (what the CLI prints, the parameter summary, the phrases fitted into the
explanations; lesson/lines.py `line()` fills one in); "lesson.step.<step>": the plain-language explanation of one
step (lesson/texts.py `explain()` fills in the run's numbers).
"""

from __future__ import annotations

LINES: dict[str, tuple[str, str]] = {
    # ---- what the CLI prints
    "lesson.stage_model": ("1. The model", "1. モデル"),
    "lesson.stage_data": ("2. The pictures", "2. 画像"),
    "lesson.stage_phase1": ("3. Phase 1: transfer learning", "3. フェーズ1：転移学習"),
    "lesson.stage_phase2": ("4. Phase 2: fine-tuning", "4. フェーズ2：ファインチューニング"),
    "lesson.stage_test": ("5. The test", "5. テスト"),
    "lesson.stage_save": ("6. Saved", "6. 保存"),
    "lesson.bar_download": ("download", "ダウンロード"),
    "lesson.unpack": ("unpacking the photos into {folder} ...", "写真を {folder} に展開しています…"),
    "lesson.bar_reading": ("reading {split}", "{split} を読み込み中"),
    "lesson.bar_epoch": ("phase {phase} epoch {epoch}", "フェーズ{phase} エポック{epoch}"),
    "lesson.bar_loss": ("loss", "損失"),
    # ---- curves.png and predictions.png (Japanese only where a Japanese font is installed: report.py)
    "lesson.fig_accuracy_title": ("Training and validation accuracy", "訓練と検証の正解率"),
    "lesson.fig_loss_title": ("Training and validation loss", "訓練と検証の損失"),
    "lesson.fig_accuracy": ("Accuracy", "正解率"),
    "lesson.fig_loss": ("Cross-entropy loss", "交差エントロピー損失"),
    "lesson.fig_train_accuracy": ("Training accuracy", "訓練の正解率"),
    "lesson.fig_val_accuracy": ("Validation accuracy", "検証の正解率"),
    "lesson.fig_train_loss": ("Training loss", "訓練の損失"),
    "lesson.fig_val_loss": ("Validation loss", "検証の損失"),
    "lesson.fig_finetune": ("Start fine-tuning", "ファインチューニング開始"),
    "lesson.fig_epoch": ("epoch", "エポック"),
    "lesson.fig_is": ("(is {label})", "（正解は {label}）"),
    "lesson.bar_accuracy": ("accuracy", "正解率"),
    "lesson.classes": ("classes: {classes}; images: {train} training, {validation} validation, {test} test",
                       "クラス：{classes}　画像：訓練用 {train} 枚、検証用 {validation} 枚、テスト用 {test} 枚"),
    "lesson.skipped": ("skipped {path}: {reason}", "読み込めないので飛ばしました：{path}（{reason}）"),
    "lesson.skip_not_image": ("not an image file", "画像ファイルではありません"),
    "lesson.skip_damaged": ("damaged or incomplete image", "画像が壊れているか、途中までしかありません"),
    "lesson.skip_other": ("could not be read", "読み込めませんでした"),
    "lesson.initial": ("before training: validation loss {loss}, accuracy {accuracy}",
                       "学習前：検証の損失 {loss}、正解率 {accuracy}"),
    "lesson.epoch": ("epoch {epoch:>3} (phase {phase}): loss {loss} accuracy {accuracy} | val_loss {val_loss} "
                     "val_accuracy {val_accuracy} ({seconds} s)",
                     "エポック{epoch:>3}（フェーズ{phase}）：損失 {loss}　正解率 {accuracy} ｜ 検証の損失 {val_loss}　"
                     "検証の正解率 {val_accuracy}（{seconds} 秒）"),
    "lesson.test": ("test loss {loss}, test accuracy {accuracy}", "テストの損失 {loss}、テストの正解率 {accuracy}"),
    "lesson.done": ("done in {seconds} s on {device}. Results in {run_dir}: {files}",
                    "完了しました（{device} で {seconds} 秒）。結果は {run_dir} にあります：{files}"),
    # ---- the parameter summary
    "lesson.title_phase1": ("Phase 1: transfer learning (base frozen)", "フェーズ1：転移学習（ベースは凍結）"),
    "lesson.title_phase2_part": ("Phase 2: fine-tuning (the last {pct} of the base's layers unfrozen)",
                                 "フェーズ2：ファインチューニング（ベースの層の最後の{pct}の凍結を解除）"),
    "lesson.title_phase2_all": ("Phase 2: fine-tuning (the whole base unfrozen)",
                                "フェーズ2：ファインチューニング（ベース全体の凍結を解除）"),
    "lesson.title_phase2_none": ("Phase 2: fine-tuning (the base stays frozen)",
                                 "フェーズ2：ファインチューニング（ベースは凍結のまま）"),
    "lesson.row_base": ("MobileNetV2 base", "ベース（MobileNetV2）"),
    "lesson.row_base_note": ("{n} of {layers} layers trainable", "{layers}層中{n}層が学習可能"),
    "lesson.row_head": ("new head (Linear)", "新しいヘッド（Linear）"),
    "lesson.row_head_note": ("trainable", "学習可能"),
    "lesson.total": ("Total params:", "パラメーター合計："),
    "lesson.trainable": ("Trainable params:", "学習可能："),
    "lesson.non_trainable": ("Non-trainable params:", "学習不可（凍結）："),
    "lesson.keras": ("Keras, and so the tutorial, also counts the base's {stats} BatchNorm running statistics, as "
                     "non-trainable:\nbase {base} ({base_trainable} trainable); total {total}, trainable {trainable}, "
                     "non-trainable {non_trainable}",
                     "チュートリアルが使う Keras は、ベースの BatchNorm が覚えている平均と分散 {stats} 個も、学習不可の"
                     "パラメーターとして数えます：\nベース {base}（うち学習可能 {base_trainable}）、合計 {total}、"
                     "学習可能 {trainable}、学習不可 {non_trainable}"),
    # ---- phrases inside the explanations (texts.py)
    "lesson.epochs": ("{n} epochs", "{n}エポック"),
    "lesson.as_tutorial": ("(as in the tutorial)", "（チュートリアルと同じ）"),
    "lesson.phase1_tutorial": ("(the tutorial: 1e-4, 10 epochs)", "（チュートリアルでは 1e-4、10エポック）"),
    "lesson.epochs_one": ("1 epoch", "1エポック"),
    "lesson.tiny_whole": (" That is why this run lets the whole base learn in phase 2.",
                          "そのため今回はフェーズ2でベース全体を学習させます。"),
    "lesson.aug_both": ("each picture is randomly mirrored left-right and turned by up to {degrees} degrees ({turn} "
                        "of a full turn): this is called data augmentation.",
                        "学習中は、写真をランダムに左右反転し、最大{degrees}度（1回転の{turn}）まで回転させます（データ拡張）。"),
    "lesson.aug_flip": ("each picture is randomly mirrored left-right: this is called data augmentation.",
                        "学習中は、写真をランダムに左右反転します（データ拡張）。"),
    "lesson.aug_turn": ("each picture is randomly turned by up to {degrees} degrees ({turn} of a full turn): this is "
                        "called data augmentation.",
                        "学習中は、写真をランダムに最大{degrees}度（1回転の{turn}）まで回転させます（データ拡張）。"),
    "lesson.aug_none": ("this run shows every picture exactly as it is (model.flip=false and model.rotation=0: no "
                        "data augmentation).",
                        "今回は学習中も写真をそのまま見せます（model.flip=false、model.rotation=0 なのでデータ拡張はしません）。"),
    "lesson.aug_effect": ("The model never sees exactly the same picture twice, so it learns 'cat' rather than "
                          "memorising particular photos.",
                          "まったく同じ写真を二度見ることがないので、特定の写真を丸暗記するのではなく「猫らしさ」を学びます。"),
    "lesson.aug_effect_none": ("That makes it easier for the model to memorise particular photos instead of "
                               "learning 'cat'.",
                               "そのため、「猫らしさ」を学ぶ代わりに、特定の写真を丸暗記しやすくなります。"),
    "lesson.gently": (", gently, with a smaller learning rate", "小さな学習率でそっと"),
    "lesson.then_part": ("and only then let part of the base adjust{gently}",
                         "その後でベースの一部だけを{gently}調整します"),
    "lesson.then_all": ("and only then let the whole base adjust{gently}", "その後でベース全体を{gently}調整します"),
    "lesson.then_none": ("and in this run the base stays frozen in phase 2 as well",
                         "今回はフェーズ2でもベースを凍結したままにします"),
    "lesson.which_part": ("'The last {pct}' means the last {n} of them here, from {where} to the end.",
                          "「最後の{pct}」は、ここでは最後の{n}個、つまり{where}から最後までです。"),
    "lesson.which_all": ("This run unfreezes all of them.", "今回はそのすべての凍結を解きます。"),
    "lesson.which_none": ("This run unfreezes none of them.", "今回はどれも凍結を解きません。"),
    "lesson.where_block": ("block {block} of {blocks} (Keras calls that layer {keras})",
                           "全{blocks}ブロック中のブロック{block}（Keras での名前は {keras}）"),
    "lesson.where_first": ("the very first block ({keras})", "最初のブロック（{keras}）"),
    "lesson.where_final": ("the final 1x1 convolution ({keras})", "最後の1×1畳み込み（{keras}）"),
    "lesson.unfrozen_part": ("the last {pct} of the base's layers ({n} of {layers}) are unfrozen and learn together "
                             "with the head",
                             "ベースの層の最後の{pct}（{layers}層中{n}層）の凍結を解き、ヘッドと一緒に学習させます"),
    "lesson.unfrozen_all": ("the whole base (all {layers} layers) is unfrozen and learns together with the head",
                            "ベース全体（{layers}層すべて）の凍結を解き、ヘッドと一緒に学習させます"),
    "lesson.unfrozen_none": ("no layer of the base is unfrozen (finetune.unfreeze_fraction=0), so only the head "
                             "keeps learning",
                             "ベースの層は1つも凍結を解かないので（finetune.unfreeze_fraction=0）、ヘッドだけが学習を続けます"),
    "lesson.rate_smaller": (", with a learning rate {times} times smaller than in phase 1 ({lr2} instead of {lr1})",
                            "学習率はフェーズ1の{times}分の1の {lr2} です（フェーズ1は {lr1}）"),
    "lesson.rate_same": (", with the same learning rate as in phase 1 ({lr2})",
                         "学習率はフェーズ1と同じ {lr2} です"),
    "lesson.rate_larger": (", with a learning rate {times} times larger than in phase 1 ({lr2} instead of {lr1})",
                           "学習率はフェーズ1の{times}倍の {lr2} です（フェーズ1は {lr1}）"),
    "lesson.rate_plain": (", with learning rate {lr2}", "学習率は {lr2} です"),
    "lesson.rate_head": ("; the head learns {times} times as fast ({lr})",
                         "。ヘッドだけはその{times}倍の {lr} で学習します"),
    "lesson.sentence_end": ("", "。"),
    "lesson.more_epochs": (", for {n} more epochs (epochs {first}-{last})",
                           "さらに{n}エポック（{first}〜{last}エポック目）続けます。"),
    "lesson.more_epochs_one": (", for 1 more epoch (epoch {first})", "さらに1エポック（{first}エポック目）続けます。"),
    "lesson.no_epochs": ("; this run skips it (finetune.epochs=0)",
                         "今回は finetune.epochs=0 なので、フェーズ2は行いません。"),
    "lesson.why_smaller": ("Small steps let the unfrozen layers adapt to the new classes without forgetting what "
                           "they knew. Usually accuracy gains another point or two. ",
                           "歩幅が小さいので、凍結を解いた層は、それまでの知識を忘れずに新しいクラスに合わせて少しずつ"
                           "調整されます。たいてい正解率がもう1〜2ポイント上がります。"),
    "lesson.why_tiny": ("That is fine for the random 'tiny' base, which has nothing to forget; a pretrained base "
                        "needs smaller steps, or it loses what it learned. ",
                        "ランダムな 'tiny' ベースには忘れて困る知識がないので、この歩幅でかまいません。学習済みのベースなら、"
                        "もっと小さな学習率にしないと、覚えた特徴を壊してしまいます。"),
    "lesson.why_careful": ("Careful: steps this large can wreck what a pretrained base learned; the tutorial uses a "
                           "tenth of phase 1's learning rate. ",
                           "注意：学習済みのベースをこの歩幅で学習させると、覚えた特徴を壊すおそれがあります。"
                           "チュートリアルではフェーズ1の10分の1の学習率を使います。"),
}

STEPS: dict[str, tuple[str, str]] = {
    "lesson.step.intro": (
        "This lesson teaches a computer to tell cats from dogs in photos. Instead of starting from zero, we "
        "borrow a network called MobileNetV2 that has already looked at more than a million photos of a "
        "thousand kinds of things. We keep what it learned and only teach it our two new answers.",
        "このレッスンでは、写真に写っているのが猫か犬かをコンピューターに見分けさせます。ゼロから教えるのではなく、"
        "100万枚以上・1000種類の写真ですでに学習した MobileNetV2 というネットワークを借ります。"
        "その知識はそのまま使い、新しい2つの答え（猫・犬）だけを教えます。これを「転移学習」といいます。",
    ),
    "lesson.step.model": (
        "The model has two parts. The base (MobileNetV2) turns a picture into 1,280 numbers that describe "
        "what it sees: edges, fur, ears, shapes. We throw away its old last layer, which chose among a thousand "
        "ImageNet categories, and add a new, tiny head: 1,280 x 2 weights plus 2 offsets (2,562 numbers) that "
        "turn those 1,280 numbers into a score for each of our classes.",
        "モデルは2つの部分からできています。土台（ベース）の MobileNetV2 は、画像を「何が見えるか」（輪郭、毛並み、"
        "耳、形など）を表す1,280個の数に変えます。元の最後の層（1000種類から選ぶ部分）は捨てて、新しい小さな"
        "「ヘッド」を付けます。1,280×2個の重みと2個の偏り、合計2,562個の数で、1,280個の数を各クラスの点数に変えます。",
    ),
    "lesson.step.scaling": (
        "Pictures arrive as brightness values from 0 to 255. MobileNetV2 was trained on values from -1 to 1, "
        "so the model rescales every picture first. It does this inside the model, so a saved model cannot be "
        "fed wrongly scaled pictures later.",
        "画像は 0〜255 の明るさの値で入ってきますが、MobileNetV2 は -1〜1 の値で学習されています。そこでモデルの"
        "中で最初に値を変換します。モデルの中で行うので、保存したモデルを後で使うときにも変換を忘れることがありません。",
    ),
    "lesson.step.tiny": (
        "Note: base 'tiny' is a small MobileNetV2 with random weights. It has learned nothing from photos, so "
        "freezing it teaches little; it only exists to try the whole flow offline in a minute.{whole} For the "
        "real lesson use google/mobilenet_v2_1.0_224.",
        "注意：base 'tiny' は重みがランダムな小さい MobileNetV2 です。写真から何も学んでいないので、凍結しても"
        "あまり役に立ちません。オフラインで流れ全体を1分ほどで試すためだけのものです。{whole}本番のレッスンには "
        "google/mobilenet_v2_1.0_224 を使ってください。",
    ),
    "lesson.step.data": (
        "The pictures come in folders, one per answer: for the tutorial train/cats, train/dogs, validation/cats "
        "and validation/dogs. The folder name is the answer for every picture inside it. Each picture is shrunk "
        "to a square and the whole set is kept in memory. The model learns from the training pictures only; the "
        "others are for checking.",
        "写真は答えごとのフォルダーに分かれています（チュートリアルでは train/cats、train/dogs、validation/cats、"
        "validation/dogs）。フォルダー名がその中の写真の正解です。写真は正方形に縮めてメモリーに読み込みます。"
        "モデルが学ぶのは訓練用の写真だけで、残りは確認用です。",
    ),
    "lesson.step.download": (
        "The tutorial's photos (2,000 for training, 1,000 for validation, about 69 MB) are downloaded once "
        "into {folder}. If the connection breaks, running again continues where it stopped.",
        "チュートリアルの写真（訓練用2,000枚、検証用1,000枚、約69MB）を一度だけ {folder} にダウンロードします。"
        "途中で接続が切れても、もう一度実行すれば続きから再開します。",
    ),
    "lesson.step.split": (
        "We set aside {pct} of the validation pictures as a test set, chosen at random with a fixed seed. "
        "Validation pictures are checked after every epoch to watch progress; test pictures are looked at only "
        "once, at the very end, to give an honest final score.",
        "検証用の写真の{pct}を、乱数の種を固定してランダムに選び「テスト用」として取っておきます。検証用は毎エポック"
        "の後に成績を見るために使い、テスト用は最後に一度だけ使って正直な最終成績を出します。",
    ),
    "lesson.step.augmentation": (
        "While training, {ops} {effect} Checking and testing use the pictures as they are.",
        "{ops}{effect}検証とテストでは写真をそのまま使います。",
    ),
    "lesson.step.layers": (
        "What counts as a layer: every convolution and every BatchNorm of the base, in the order the picture "
        "passes through them ({layers} here). {which} Keras counts 154 layers in MobileNetV2 because it also "
        "counts steps without weights, such as activations and additions. The tutorial speaks of 'the last "
        "25 %', but its cut unfreezes 37 of those 154, from block_13_expand_BN on: 25 of our 104, which is "
        "24 %. That is why the real lesson's setting is 0.24: the counts of trainable parameters then match "
        "the tutorial's exactly.",
        "ここでいう「層」は、ベースの畳み込みと BatchNorm のそれぞれを、画像が通る順に数えたものです（今回は"
        "{layers}個）。{which}Keras は重みを持たない活性化や足し算も数えるので、MobileNetV2 を154層と数えます。"
        "チュートリアルは「最後の25%」と書いていますが、実際に凍結を解いているのはその154層のうち "
        "block_13_expand_BN から後ろの37層で、ここでの数え方では104層中25層、つまり24%です。そのため本番の"
        "レッスンの設定は 0.24 にしてあり、学習可能なパラメーターの数がチュートリアルとぴったり同じになります。",
    ),
    "lesson.step.summary": (
        "Before each phase you see a parameter summary. Parameters are the numbers the model can adjust. "
        "'Trainable' ones change during this phase; 'non-trainable' ones are frozen and stay exactly as they are.",
        "各フェーズの前にパラメーターの一覧を表示します。パラメーターはモデルが調整できる数です。「学習可能」な"
        "ものはこのフェーズで変わり、「学習不可」のものは凍結されていて、まったく変わりません。",
    ),
    "lesson.step.phase1": (
        "Phase 1, transfer learning: the whole base is frozen and only the new head learns. This run: AdamW, "
        "learning rate {lr}, {epochs} {tutorial}. An epoch is one pass over all training "
        "pictures. The head starts by guessing, so accuracy begins near 50 % and climbs quickly because the "
        "base's 1,280 numbers already describe cats and dogs well.",
        "フェーズ1（転移学習）：ベース全体を凍結し、新しいヘッドだけを学習します。今回は AdamW、学習率 {lr}、"
        "{epochs}です{tutorial}。1エポックは訓練用の写真全部を1回ずつ見ることです。"
        "最初のヘッドは当てずっぽうなので正解率は約50%から始まり、ベースの1,280個の数がすでに猫と犬をよく"
        "表しているので、すぐに上がります。",
    ),
    "lesson.step.batchnorm": (
        "Why BatchNorm stays in inference mode: BatchNorm layers keep running averages of what the base saw "
        "on a million photos. If they updated from our small batches, those averages would drift, every later "
        "layer would receive different numbers than it was trained on, and what the base knows would be "
        "damaged. So they keep their stored averages in both phases, even in the layers we unfreeze.",
        "BatchNorm を推論モードのままにする理由：BatchNorm 層は、100万枚の写真で見た値の平均を覚えています。"
        "小さなバッチでその平均を更新すると値がずれて、後ろの層が学習時と違う数を受け取ることになり、ベースの知識が"
        "壊れてしまいます。そのため両方のフェーズで、凍結を解いた層でも、保存された平均をそのまま使います。",
    ),
    "lesson.step.two_phases": (
        "Why two phases: a brand-new head makes big mistakes at first. If the base could learn from those "
        "first big mistakes, the large corrections would flow back into it and wreck the features it spent a "
        "million photos learning. So we first let the head settle while the base is frozen, {then}.",
        "2段階に分ける理由：作ったばかりのヘッドは最初、大きく間違えます。その大きな誤差でベースまで学習させると、"
        "大きな修正がベースに流れ込み、100万枚の写真で身につけた特徴を壊してしまいます。そこで、まずベースを凍結して"
        "ヘッドを落ち着かせ、{then}。",
    ),
    "lesson.step.phase2": (
        "Phase 2, fine-tuning: {unfrozen}{rate}{epochs}. {why}(The tutorial: the last quarter of the layers, "
        "at 1e-5, a tenth of phase 1's learning rate, for 10 more epochs.)",
        "フェーズ2（ファインチューニング）：{unfrozen}。{rate}{epochs}{why}（チュートリアルでは、最後の約4分の1の"
        "層を、フェーズ1の10分の1の学習率 1e-5 でさらに10エポック学習します。）",
    ),
    "lesson.step.curves": (
        "curves.png shows loss (how wrong, lower is better) and accuracy (share of right answers) for "
        "training and validation after each epoch. The dashed line marks where fine-tuning starts.",
        "curves.png には、各エポックの後の訓練用と検証用の損失（間違いの大きさ、低いほど良い）と正解率が描かれています。"
        "点線はファインチューニングを始めた位置です。",
    ),
    "lesson.step.val_beats_train": (
        "Why validation can score better than training here: training pictures are made harder on purpose "
        "(mirrored and rotated, and with dropout some features switched off), while validation pictures are "
        "shown as they are. Also, the training score is an average over the whole epoch, including the early "
        "steps when the model was worse; the validation score is measured at the end of the epoch.",
        "ここで検証の成績が訓練より良くなることがある理由：訓練用の写真はわざと難しくしてあります（反転・回転、"
        "ドロップアウトを使う場合は特徴の一部を消す）が、検証用の写真はそのまま見せます。また、訓練の成績はエポック"
        "全体の平均で、まだ下手だった最初のころも含みます。検証の成績はエポックの終わりに測ります。",
    ),
    "lesson.step.test": (
        "Finally the model sees the test pictures it has never seen before. This one number is the honest "
        "answer to 'how often is it right on new photos?' (the tutorial reached about 99 %).",
        "最後に、一度も見たことのないテスト用の写真で成績を測ります。この数字が「新しい写真でどれくらい当たるか」への"
        "正直な答えです（チュートリアルでは約99%）。",
    ),
    "lesson.step.save": (
        "The trained model is saved in the run folder (model.safetensors and model_config.json), with "
        "predictions.png showing nine test pictures and what the model said about each.",
        "学習したモデルは実行フォルダーに保存されます（model.safetensors と model_config.json）。predictions.png には"
        "テスト画像9枚と、それぞれへのモデルの答えが表示されます。",
    ),
    "lesson.step.predict": (
        "Try it on your own photos: lora-studio lesson-predict {run_dir} photo.jpg prints the answer and how "
        "sure the model is (a probability between 0 and 100 %).",
        "自分の写真で試してみましょう：lora-studio lesson-predict {run_dir} photo.jpg と実行すると、答えとモデルの"
        "自信（0〜100%の確率）が表示されます。",
    ),
    "lesson.step.predict_studio": (
        "Try it on your own photos: upload one under 'Classify my photo' below, and the model says what it "
        "sees and how sure it is (a probability between 0 and 100 %).",
        "自分の写真で試してみましょう：下の「自分の写真を分類」に写真をアップロードすると、モデルの答えと自信"
        "（0〜100%の確率）が表示されます。",
    ),
}

LESSON: dict[str, tuple[str, str]] = {**LINES, **STEPS}
