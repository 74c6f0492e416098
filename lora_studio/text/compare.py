"""The adapter comparison's texts, by key: `{key: (english, japanese)}`. COMPARE_ERRORS are the library's errors and
notes (compare.py, scores.py; part of CORE); COMPARE_STUDIO the studio's Compare tab and the Train tab's sample
captions (ui/compare_tab.py, ui/run_view.py; part of STUDIO)."""

from __future__ import annotations

COMPARE_ERRORS: dict[str, tuple[str, str]] = {
    # ---- compare.py: the options, the run, writing the comparison
    "compare.no_strengths": ("strengths: give at least one strength, e.g. 0.6,0.8,1.0",
                             "strengths: 強さを 1 つ以上指定してください（例: 0.6,0.8,1.0）"),
    "compare.strength_range": ("strength {strength} is out of range; use numbers between 0 and 2 such as 0.8",
                               "強さ {strength} は範囲外です。0.8 のような 0 から 2 の数にしてください"),
    "compare.steps_too_few": ("steps {steps} must be at least 1", "steps {steps} は 1 以上にしてください"),
    "compare.empty_prompt": ("prompts: one of the prompts is empty; give each prompt some tags",
                             "prompts: 空のプロンプトがあります。どのプロンプトにもタグを書いてください"),
    "compare.strength_not_number": ("strength {value} is not a number; write strengths like 0.6, 0.8, 1.0",
                                    "強さ {value} は数ではありません。0.6, 0.8, 1.0 のように書いてください"),
    "compare.not_run_folder": ("'{path}' is not a run folder (no config.yaml); pass outputs/<run>",
                               "'{path}' は実行のフォルダーではありません（config.yaml がありません）。outputs/<実行名> "
                               "を指定してください"),
    "compare.no_adapter": ("run '{name}' has no saved adapter yet; let it finish (or stop it, which saves one), and set "
                           "train.save_every_n_epochs=1 to have one per epoch to compare",
                           "実行 '{name}' には保存されたアダプターがまだありません。完了させるか（停止しても 1 つ保存"
                           "されます）、train.save_every_n_epochs=1 にしてエポックごとに比較できるようにしてください"),
    "compare.dataset_gone": ("the run's dataset folder '{dataset}' (dataset.path in {config}) is gone; likeness is "
                             "measured against the training pictures, so put them back there",
                             "実行のデータセットのフォルダー '{dataset}'（{config} の dataset.path）がありません。"
                             "似ている度は学習画像と比べて測るので、そこに戻してください"),
    "io.what_comparison_picture": ("a comparison picture", "比較の画像"),
    "io.what_comparison": ("the comparison", "比較"),
    # ---- scores.py: the score models
    "scores.unknown_scorer": ("scorer {scorer} is unknown; choose one of: {scorers}",
                              "スコアのモデル {scorer} はありません。次から選んでください: {scorers}"),
    "scores.offline": ("could not load the score models {dino} (about 87 MB) and {clip} (about 605 MB): they are not in "
                       "the Hugging Face cache and cannot be downloaded here ({kind}). Run the comparison once with "
                       "internet (they are kept in the cache), or use --scorer tiny for pictures without scores that "
                       "mean anything",
                       "スコアのモデル {dino}（約 87 MB）と {clip}（約 605 MB）を読み込めませんでした。Hugging Face の"
                       "キャッシュになく、ここからはダウンロードできません（{kind}）。一度インターネットにつないで比較を"
                       "実行する（モデルはキャッシュに残ります）か、--scorer tiny を使ってください（スコアに意味は"
                       "ありません）"),
    "scores.tiny_note": ("scorer 'tiny' uses random models built on this computer: its scores are meaningless and only "
                         "prove the flow works (use --scorer real with a real base)",
                         "スコアのモデル 'tiny' はこのコンピューターで作ったランダムなモデルです。スコアに意味はなく、"
                         "流れが動くことを確かめるためだけのものです（本物のベースでは --scorer real を使ってください）"),
}

COMPARE_STUDIO: dict[str, tuple[str, str]] = {
    "tab_compare": ("2b. Compare", "2b. 比較"),
    # ---- compare
    "cmp_intro": ("Which adapter is best? Each saved adapter of a run (one per epoch with `train.save_every_n_epochs`) "
                  "draws the same prompts with the same seeds at several strengths, the base model first. Under each "
                  "picture: **likeness** (DINO: how much it looks like the training pictures) and **prompt following** "
                  "(CLIP-T: how well it matches its prompt without the trigger word). The suggestion is the most alike "
                  "adapter that still follows prompts about as well as the base model; an overtrained one draws the "
                  "training pictures whatever you ask.",
                  "どのアダプターが一番良いでしょう？実行で保存した各アダプター（`train.save_every_n_epochs` で"
                  "エポックごとに 1 つ）で、同じプロンプトを同じシードのまま複数の強さで描きます（最初の行はベースモデル）。"
                  "各画像の下に **似ている度**（DINO: 学習画像にどれだけ似ているか）と **プロンプトへの従い方**"
                  "（CLIP-T: トリガーワードを除いたプロンプトにどれだけ合っているか）を表示します。おすすめは、"
                  "プロンプトへの従い方をベースモデルとほぼ同じに保ったまま一番似ているアダプターです。"
                  "学習しすぎたものは、何を頼んでも学習画像ばかり描きます。"),
    "cmp_run": ("Run", "実行"),
    "cmp_run_info": ("A finished or stopped run with at least one adapter.",
                     "アダプターが 1 つ以上ある、完了または停止した実行。"),
    "cmp_strengths": ("Strengths", "強さ"),
    "cmp_strengths_info": ("Comma-separated, e.g. 0.6, 0.8, 1.0.", "カンマ区切り。例: 0.6, 0.8, 1.0。"),
    "cmp_prompts": ("Prompts (optional)", "プロンプト（任意）"),
    "cmp_prompts_info": ("One per line; empty: the run's sample prompts plus two places its pictures never show.",
                         "1 行に 1 つ。空欄なら実行のサンプル用プロンプトと、学習画像にない場所のプロンプト 2 つ。"),
    "cmp_scorer": ("Score models", "スコアのモデル"),
    "cmp_scorer_info": ("real: DINO ViT-S/16 (~87 MB) and CLIP ViT-B/32 (~605 MB), downloaded once; tiny: random "
                        "offline models, meaningless scores; auto: tiny for the tiny base, real otherwise.",
                        "real: DINO ViT-S/16（約 87 MB）と CLIP ViT-B/32（約 605 MB）を一度だけダウンロード。tiny: "
                        "ランダムなオフラインのモデルで、スコアに意味はありません。auto: tiny ベースなら tiny、それ以外は real。"),
    "cmp_scorer_auto": ("auto", "自動"),
    "cmp_scorer_real": ("real", "本物"),
    "cmp_scorer_tiny": ("tiny (offline)", "tiny（オフライン）"),
    "cmp_start": ("Compare adapters", "アダプターを比較"),
    "cmp_gallery": ("Rows: adapters (base model first); columns: prompt x strength", "行: アダプター（最初はベースモデル）、列: プロンプト × 強さ"),
    "cmp_pick_a_picture": ("Click a picture to pick its adapter and strength.", "画像をクリックすると、そのアダプターと強さを選べます。"),
    "cmp_send": ("Send to Generate", "生成タブへ送る"),
    "cmp_table": ("Scores per adapter and strength (means over the prompts)", "アダプターと強さごとのスコア（プロンプトの平均）"),
    "cmp_grid": ("The grid with its labels (grid.png): the suggested adapter is framed",
                 "ラベル付きのグリッド（grid.png）。おすすめのアダプターは枠で囲んであります"),
    "cmp_files": ("grid.png and scores.json", "grid.png と scores.json"),
    "cmp_base_row": ("base model (strength 0)", "ベースモデル（強さ 0）"),
    "cmp_row": ("epoch {epoch} · step {step}", "エポック {epoch} · ステップ {step}"),
    "cmp_final": ("final", "最終"),
    "cmp_strength": ("strength {strength}", "強さ {strength}"),
    "cmp_pick": ("{row} at strength {strength}", "{row}（強さ {strength}）"),
    "cmp_suggest": ("Suggested: **{pick}**: the highest likeness (DINO {dino}) whose prompt following (CLIP-T "
                    "{clip_t}) stays within {margin} of the base model's ({base}).",
                    "おすすめ: **{pick}**。プロンプトへの従い方（CLIP-T {clip_t}）がベースモデル（{base}）から {margin} "
                    "以内のものの中で、一番似ています（DINO {dino}）。"),
    "cmp_suggest_worn": ("Suggested: **{pick}**: no adapter keeps prompt following within {margin} of the base "
                         "model's ({base}), so this is the one that follows prompts best (CLIP-T {clip_t}, DINO "
                         "{dino}). The run is probably overtrained: try a lower strength or an earlier epoch.",
                         "おすすめ: **{pick}**。プロンプトへの従い方をベースモデル（{base}）から {margin} 以内に保つ"
                         "アダプターがないので、一番プロンプトに従うものを選びました（CLIP-T {clip_t}、DINO {dino}）。"
                         "学習しすぎの可能性があります。強さを下げるか、前のエポックを試してください。"),
    "cmp_no_suggestion": ("No adapter to suggest.", "おすすめできるアダプターがありません。"),
    "cmp_meaningless": ("These scores come from the tiny random score models: they are meaningless and only show the "
                        "flow works (use real score models with a real base).",
                        "このスコアは tiny のランダムなモデルによるもので意味はありません。流れが動くことを示すだけです"
                        "（本物のベースでは本物のスコアのモデルを使ってください）。"),
    "cmp_rendering": ("Drawing picture {done} of {total}…", "{total} 枚中 {done} 枚目を描いています…"),
    "cmp_scoring": ("Scoring the pictures…", "画像のスコアを計算しています…"),
    "cmp_done": ("Done: {grid}", "完了: {grid}"),
    "cmp_picked": ("Picked: {adapter} at strength {strength}.", "選択: {adapter}（強さ {strength}）。"),
    "cmp_picked_base": ("That is the base model without an adapter; pick a picture in another row.",
                        "これはアダプターなしのベースモデルです。ほかの行の画像を選んでください。"),
    "cmp_col_adapter": ("adapter", "アダプター"),
    "cmp_col_strength": ("strength", "強さ"),
    "cmp_col_likeness": ("likeness (DINO)", "似ている度（DINO）"),
    "cmp_col_clip_t": ("prompt following (CLIP-T)", "プロンプトへの従い方（CLIP-T）"),
    "st_sample_caption": ("epoch {epoch} · step {step} · prompt {prompt}", "エポック {epoch} · ステップ {step} · プロンプト {prompt}"),
    # ---- compare refusals (compare_tab.py)
    "cmp_busy": ("A comparison is already running; wait until it finishes, then start again.",
                 "比較はすでに実行中です。終わるのを待ってから、もう一度始めてください。"),
    "cmp_still_training": ("Run '{name}' is still training; compare it once it has finished or been stopped.",
                           "実行 '{name}' はまだ学習中です。完了するか停止してから比較してください。"),
    "cmp_pick_run": ("Pick a run to compare (a finished or stopped one).", "比較する実行（完了または停止したもの）を選んでください。"),
    "cmp_pick_first": ("Click a picture of an adapter's row first.", "先にアダプターの行の画像をクリックしてください。"),
}
