"""Every text of the studio in English and Japanese, from one table.

Static texts (labels, help, headings) go to the browser through `gr.I18n`; texts made on the server (progress,
messages; most of them in messages.py) go through `tr(lang, key)` with the session's language, or are carried as
a `Msg` until the language is known. Setting help comes from config.py (English) and help_ja.py (Japanese).
"""

from __future__ import annotations

import re

import gradio as gr

from ..config import TrainConfig, config_fields
from ..errors import UserError
from ..models import TINY_BASES, TINY_NOTE, TINY_SDXL
from .help_ja import HELP_JA
from .messages import CORE_PATTERNS, MESSAGES

LANGS = ("en", "ja")

TEXT: dict[str, tuple[str, str]] = {
    # ---- app
    "title": ("LoRA Studio", "LoRA スタジオ"),
    "lang_label": ("Language / 言語", "Language / 言語"),
    "intro": ("Teach a Stable Diffusion model your character in four steps: **1. Dataset** (pictures + tags) → "
              "**2. Train** → **3. Generate**. **4. Lesson** explains transfer learning with a small classifier.",
              "4 つのステップでキャラクターを Stable Diffusion に覚えさせます: **1. データセット**（画像とタグ）→ "
              "**2. 学習** → **3. 生成**。**4. レッスン** では小さな分類器で転移学習を説明します。"),
    "tab_dataset": ("1. Dataset", "1. データセット"),
    "tab_train": ("2. Train", "2. 学習"),
    "tab_generate": ("3. Generate", "3. 生成"),
    "tab_lesson": ("4. Lesson", "4. レッスン"),
    "tab_compare": ("2b. Compare", "2b. 比較"),
    "unexpected_error": ("Something went wrong ({kind}: {detail}). The studio's console has the details.",
                         "予期しないエラーが起きました（{kind}: {detail}）。詳細はスタジオのコンソールにあります。"),
    "tiny_note": (TINY_NOTE, "ベース 'tiny' はランダムなオフラインのテスト用モデルです。画像はノイズになり、"
                             "流れが動くことを確かめるためだけのものです"),
    "tiny_sdxl_note": (TINY_BASES[TINY_SDXL].note, "ベース 'tiny-sdxl' は SDXL の形をしたランダムなオフラインのテスト用モデル"
                                                  "です。画像はノイズになり、SDXL の流れが動くことを確かめるためだけのものです"),
    # ---- dataset
    "ds_intro": ("Drop your character's pictures (PNG, JPG, WebP, BMP) or a zip of them, with `.txt` tag files if "
                 "you have them. Then click a picture to edit its tags (comma-separated, like `1girl, green hair`).",
                 "キャラクターの画像（PNG・JPG・WebP・BMP）か、それをまとめた zip をドロップしてください。`.txt` の"
                 "タグファイルがあれば一緒にどうぞ。画像をクリックするとタグ（`1girl, green hair` のようにカンマ区切り）"
                 "を編集できます。"),
    "ds_name": ("Dataset", "データセット"),
    "ds_name_info": ("Saved in datasets/<name>/; pick an existing one to edit it, or type a new name.",
                     "datasets/<名前>/ に保存します。既存のものを選ぶと編集でき、新しい名前も入力できます。"),
    "ds_open": ("Open", "開く"),
    "ds_make_sample": ("Create the sample dataset", "サンプルのデータセットを作る"),
    "ds_upload": ("Pictures, .txt tag files or a .zip", "画像・.txt タグファイル・.zip"),
    "ds_trigger": ("Trigger word", "トリガーワード"),
    "ds_trigger_info": ("A made-up word (e.g. mychar) put first in every caption; type it in prompts later.",
                        "すべてのキャプションの先頭に置く造語（例: mychar）。後でプロンプトに書いて使います。"),
    "ds_add": ("Add to dataset", "データセットに追加"),
    "ds_gallery": ("Pictures (click one to edit its tags)", "画像（クリックでタグを編集）"),
    "ds_selected": ("Selected picture", "選んだ画像"),
    "ds_tags": ("Tags of this picture", "この画像のタグ"),
    "ds_tags_info": ("Comma-separated; describe what you see except what always belongs to the character.",
                     "カンマ区切り。キャラクターに必ず付いている特徴以外の、見えているものを書きます。"),
    "ds_save_tags": ("Save tags", "タグを保存"),
    "ds_delete": ("Remove picture", "画像を削除"),
    "ds_bulk": ("Tag for all pictures", "全画像に対するタグ"),
    "ds_bulk_info": ("Add or remove this tag in every caption at once.", "すべてのキャプションに一度に追加・削除します。"),
    "ds_add_all": ("Add to all", "全部に追加"),
    "ds_remove_all": ("Remove from all", "全部から削除"),
    "ds_trigger_all": ("Put trigger word first", "トリガーワードを先頭に"),
    "ds_freq": ("Tag frequency", "タグの出現数"),
    "ds_count": ("**{n}** pictures in dataset **{name}**.", "データセット **{name}** の画像: **{n}** 枚。"),
    "ds_empty": ("Dataset **{name}** has no pictures yet: add some above.",
                 "データセット **{name}** にはまだ画像がありません。上から追加してください。"),
    "ds_warnings": ("Warnings", "警告"),
    "ds_no_files": ("Choose or drop some pictures first.", "先に画像を選ぶかドロップしてください。"),
    "ds_saved": ("Saved {n} picture(s) and {tags} tag file(s) to dataset **{name}**.",
                 "データセット **{name}** に画像 {n} 枚とタグファイル {tags} 個を保存しました。"),
    "ds_refused": ("Not saved:", "保存しなかったもの:"),
    "ds_pick_first": ("Click a picture in the gallery first.", "先にギャラリーの画像をクリックしてください。"),
    "ds_tags_saved": ("Saved {n} tags for {name}.", "{name} のタグを {n} 個保存しました。"),
    "ds_deleted": ("Removed {name} and its tags.", "{name} とそのタグを削除しました。"),
    "ds_bulk_done": ("Changed the tags of {n} picture(s).", "{n} 枚の画像のタグを変更しました。"),
    "ds_sample_made": ("Created the sample dataset **{folder}** (trigger word: mychar).",
                       "サンプルのデータセット **{folder}** を作りました（トリガーワード: mychar）。"),
    "ds_nothing_saved": ("Nothing was saved to dataset **{name}** (see why below).",
                         "データセット **{name}** には何も保存されませんでした（理由は下のとおりです）。"),
    "ds_skipped": ("Skipped pictures (training does not use them)", "スキップされた画像（学習には使われません）"),
    "ds_skipped_info": ("Broken, too small, or in a folder training does not read; the warnings say why. "
                        "Untick the ones to keep.",
                        "壊れている・小さすぎる・学習が読まないフォルダーにある画像です。理由は警告に書いてあります。"
                        "残したいものはチェックを外してください。"),
    "ds_remove_skipped": ("Remove these pictures", "これらの画像を削除"),
    "ds_pick_skipped": ("Pick the skipped pictures to remove first.", "先に削除するスキップ画像を選んでください。"),
    "ds_removed_n": ("Removed {n} picture(s) and their tags.", "{n} 枚の画像とそのタグを削除しました。"),
    "ds_skipped_note": ("Checked the way the character presets train (bucket_step {step}): each side needs {step} px "
                        "or more. The Train tab counts with the preset you choose.",
                        "キャラクター用プリセットの設定（bucket_step {step}）で確かめています: 縦横とも {step} px 以上が"
                        "必要です。学習タブでは選んだプリセットの設定で数えます。"),
    # ---- dataset: automatic tagging and pruning (tag_panel.py)
    "tg_title": ("Tag automatically", "自動でタグ付け"),
    "tg_intro": ("No tags yet? A booru tagger (SmilingWolf's WD tagger) looks at each picture and writes tags like "
                 "`1girl, green hair, smile`. It is downloaded once (a few hundred MB). Check the tags afterwards, "
                 "then prune the ones that describe the character (below).",
                 "タグがまだない？ booru タガー（SmilingWolf の WD tagger）が画像を 1 枚ずつ見て "
                 "`1girl, green hair, smile` のようなタグを書きます。モデルのダウンロードは最初の 1 回だけ（数百 MB）"
                 "です。あとでタグを確かめ、キャラクターそのものを表すタグを下で整理してください。"),
    "tg_model": ("Tagger", "タガー"),
    "tg_model_info": ("wd-vit is fast; wd-eva02-large is the most accurate and the largest; tiny works offline but "
                      "its tags are meaningless.",
                      "wd-vit は速く、wd-eva02-large は最も正確で最も大きいモデルです。tiny はオフラインで動きますが、"
                      "タグに意味はありません。"),
    "tg_threshold": ("Confidence for general tags", "一般タグの確信度"),
    "tg_threshold_info": ("Lower writes more tags, and more mistakes; 0.35 is the usual choice.",
                          "下げるとタグが増え、間違いも増えます。ふつうは 0.35 です。"),
    "tg_char_threshold": ("Confidence for character tags", "キャラクタータグの確信度"),
    "tg_char_threshold_info": ("Character names need a high confidence; 0.85 is the usual choice.",
                               "キャラクター名には高い確信度が必要です。ふつうは 0.85 です。"),
    "tg_mode": ("Pictures that already have tags", "すでにタグがある画像"),
    "tg_mode_add": ("Add new tags after theirs", "今のタグの後ろに新しいタグを足す"),
    "tg_mode_replace": ("Replace their tags", "タグを置き換える"),
    "tg_mode_keep": ("Leave them as they are", "そのままにする"),
    "tg_ratings": ("Also write the rating tag (general, sensitive, ...)", "レーティングのタグ（general, sensitive など）も書く"),
    "tg_exclude": ("Tags never to write", "書かないタグ"),
    "tg_exclude_info": ("Comma-separated, e.g. simple background, white background.",
                        "カンマ区切り。例: simple background, white background"),
    "tg_run": ("Tag automatically", "自動でタグ付け"),
    "tg_undo": ("Undo the last automatic change", "最後の自動変更を元に戻す"),
    "pr_why": ("### Prune the tags that describe the character\n"
               "A tag that is on most pictures and describes the character itself (hair colour, eye colour, "
               "hairstyle, the character's name) competes with the trigger word: the LoRA learns the look through "
               "those tags instead of the trigger word, and later draws the character only when you type them all. "
               "Remove them so the trigger word carries the look; keep the tags of things that change (clothes, "
               "pose, background).",
               "### キャラクターそのものを表すタグを整理する\n"
               "ほとんどの画像に付いていて、キャラクターそのもの（髪の色、目の色、髪型、キャラクター名）を表すタグは、"
               "トリガーワードと競合します。LoRA はその見た目をトリガーワードではなくそれらのタグで覚えてしまい、"
               "あとで全部のタグを書かないとキャラクターを描けなくなります。取り除けば、トリガーワードが見た目を"
               "引き受けます。変わるもの（服、ポーズ、背景）のタグは残してください。"),
    "pr_tags": ("Tags that compete with the trigger word (the checked ones are removed)",
                "トリガーワードと競合するタグ（チェックしたものを削除します）"),
    "pr_find": ("Find them", "探す"),
    "pr_remove": ("Remove the checked tags from every picture", "チェックしたタグを全画像から削除"),
    # ---- train
    "tr_intro": ("Pick a preset, check the few settings below, then **Start**. Closing the page does not stop "
                 "training; come back any time.",
                 "プリセットを選び、下のいくつかの設定を確かめて **開始** を押します。ページを閉じても学習は止まりません。"
                 "いつでも戻ってこられます。"),
    "tr_preset": ("Preset", "プリセット"),
    "tr_preset_info": ("Quick test: the offline tiny model, about a minute on a CPU (its pictures are noise). "
                       "Character: a real Stable Diffusion 1.5 training on a GPU. Character SDXL: SDXL 1.0, Illustrious, "
                       "NoobAI or Pony on a 12 GB or 8 GB GPU.",
                       "お試し: オフラインの tiny モデルで、CPU でも約 1 分（画像はノイズになります）。"
                       "キャラクター: GPU で Stable Diffusion 1.5 を本格的に学習します。キャラクター SDXL: SDXL 1.0・"
                       "Illustrious・NoobAI・Pony を 12 GB か 8 GB の GPU で学習します。"),
    "preset_quickstart": ("quick test (tiny, offline)", "お試し（tiny・オフライン）"),
    "preset_character-8gb": ("character, 8 GB GPU", "キャラクター（8 GB の GPU）"),
    "preset_character-best": ("character, best quality", "キャラクター（最高品質）"),
    "preset_quickstart-sdxl": ("quick test SDXL (tiny-sdxl, offline)", "お試し SDXL（tiny-sdxl・オフライン）"),
    "preset_character-sdxl-12gb": ("character SDXL, 12 GB GPU", "キャラクター SDXL（12 GB の GPU）"),
    "preset_character-sdxl-8gb": ("character SDXL, 8 GB GPU", "キャラクター SDXL（8 GB の GPU）"),
    "tr_name": ("Run name", "実行名"),
    "tr_dataset": ("Dataset", "データセット"),
    "tr_trigger": ("Trigger word", "トリガーワード"),
    "tr_base": ("Base model", "ベースモデル"),
    "base_tiny": ("tiny (offline test model)", "tiny（オフラインのテスト用）"),
    "base_hub": ("Hugging Face hub id", "Hugging Face の Hub ID"),
    "base_folder": ("Local diffusers folder", "ローカルの diffusers フォルダー"),
    "base_file": ("Single .safetensors file", "単一の .safetensors ファイル"),
    "base_hub_note": ("A hub id such as stable-diffusion-v1-5/stable-diffusion-v1-5 must already be in the "
                      "Hugging Face cache (downloaded once with internet).",
                      "stable-diffusion-v1-5/stable-diffusion-v1-5 のような Hub ID は、Hugging Face のキャッシュに"
                      "入っている必要があります（インターネットで一度ダウンロード）。"),
    "base_folder_note": ("A folder saved with diffusers (it holds model_index.json).",
                         "diffusers で保存したフォルダー（model_index.json があるもの）。"),
    "base_file_note": ("A single checkpoint file such as a Civitai model (.safetensors).",
                       "Civitai のモデルのような単一のチェックポイントファイル（.safetensors）。"),
    "tr_base_path": ("Hub id, folder or file", "Hub ID・フォルダー・ファイル"),
    "tr_base_path_info": ("Not needed for tiny (type tiny-sdxl for the SDXL-shaped test model).",
                          "tiny では不要です（SDXL の形のテスト用モデルは tiny-sdxl と入力）。"),
    "base_family_note": ("Detected: **{family}** base, native {resolution} px, {prediction}.",
                         "検出: **{family}** のベース、本来の解像度 {resolution} px、{prediction}。"),
    "base_sdxl_hint": ("Pick an SDXL preset (12 GB or 8 GB) so pictures train at 1024 px.",
                       "1024 px で学習するよう、SDXL のプリセット（12 GB か 8 GB）を選んでください。"),
    "prediction_epsilon": ("noise prediction", "ノイズ予測（epsilon）"),
    "prediction_v_prediction": ("v-prediction", "v 予測（v-prediction）"),
    "tr_length": ("Train for", "学習の長さ"),
    "tr_length_info": ("A number of steps, or of epochs (passes over the dataset).",
                       "ステップ数、またはエポック数（データセットを何周するか）。"),
    "len_steps": ("steps", "ステップ"),
    "len_epochs": ("epochs", "エポック"),
    "tr_length_value": ("How many", "回数"),
    "f_rank": ("LoRA rank", "LoRA のランク"),
    "f_alpha": ("LoRA alpha", "LoRA のアルファ"),
    "f_learning_rate": ("Learning rate", "学習率"),
    "f_resolution": ("Resolution (px)", "解像度（px）"),
    "f_batch_size": ("Batch size", "バッチサイズ"),
    "f_repeats": ("Repeats", "繰り返し回数"),
    "tr_advanced": ("Advanced settings", "詳細設定"),
    "tr_advanced_info": ("Every other setting of the run's config.yaml, named by its key; the defaults are sound.",
                         "config.yaml のその他すべての設定（キー名で表示）。既定値のままで問題ありません。"),
    "arith": ("**{images}** images × repeats = {samples} samples ÷ batch {batch} = **{per_epoch} steps per epoch**; "
              "{epochs} epoch(s) = **{total} steps** in all.",
              "**{images}** 枚 × 繰り返し = {samples} サンプル ÷ バッチ {batch} = **1 エポック {per_epoch} ステップ**、"
              "{epochs} エポックで合計 **{total} ステップ**。"),
    "arith_early": ("**{images}** images × repeats = {samples} samples ÷ batch {batch} = **{per_epoch} steps per "
                    "epoch**; the step count ends the run early, at **step {total}** (in epoch {epochs}).",
                    "**{images}** 枚 × 繰り返し = {samples} サンプル ÷ バッチ {batch} = **1 エポック {per_epoch} ステップ**。"
                    "ステップ数の指定で、{epochs} エポック目の途中の **ステップ {total}** で終わります。"),
    "arith_no_dataset": ("Dataset **{name}** does not exist yet: create it in the Dataset tab.",
                         "データセット **{name}** はまだありません。データセットのタブで作ってください。"),
    "arith_sample": ("Dataset **{name}** is created from the built-in drawings when you start.",
                     "データセット **{name}** は、開始すると組み込みの絵から作られます。"),
    "tr_start": ("Start training", "学習を開始"),
    "tr_stop": ("Stop (saves a checkpoint)", "停止（チェックポイントを保存）"),
    "tr_resume": ("Resume selected run", "選んだ実行を再開"),
    "tr_run": ("Run", "実行"),
    "tr_run_info": ("The run shown below; pick a stopped run and press Resume to continue it.",
                    "下に表示する実行。停止した実行を選んで再開を押すと続きから学習します。"),
    "tr_loss": ("Loss", "損失"),
    "ax_step": ("step", "ステップ"),
    "ax_loss": ("loss", "損失"),
    "ax_epoch": ("epoch", "エポック"),
    "ax_accuracy": ("accuracy", "正解率"),
    "tr_samples": ("Sample images", "サンプル画像"),
    "log_press_resume": ("press Resume selected run in the Train tab", "学習のタブで「選んだ実行を再開」を押してください"),
    "log_open_generate": ("try it: open the Generate tab; the adapter is already chosen there",
                          "試すには生成のタブを開いてください。このアダプターがもう選ばれています"),
    "log_no_file": ("(run '{name}' was trained from the command line, without train.log: its loss log and status)",
                    "（実行 '{name}' はコマンドラインで学習したので train.log がありません。損失の記録と状態を表示します）"),
    "tr_log": ("Log (last lines)", "ログ（最後の行）"),
    "tr_runs": ("Runs and adapters", "実行とアダプター"),
    "tr_adapters": ("Adapters (click to download)", "アダプター（クリックでダウンロード）"),
    "tr_started": ("Training '{name}' started.", "学習 '{name}' を開始しました。"),
    "tr_renamed": ("(a run of that name existed, so this one is called '{name}')",
                   "（同じ名前の実行があったので '{name}' という名前にしました）"),
    "tr_resumed": ("Run '{name}' resumed from its latest checkpoint.", "実行 '{name}' を最新のチェックポイントから再開しました。"),
    "st_none": ("No training yet.", "まだ学習はありません。"),
    "st_step": ("step {step}/{total}", "ステップ {step}/{total}"),
    "st_finished": ("finished: adapter {adapter} is ready (download it below, or use it in Generate)",
                    "完了: アダプター {adapter} ができました（下からダウンロード、または生成タブで使えます）"),
    "state_starting": ("starting", "準備中"),
    "state_running": ("training", "学習中"),
    "state_finished": ("finished", "完了"),
    "state_stopped": ("stopped", "停止"),
    "state_failed": ("failed", "失敗"),
    "state_none": ("not started", "未開始"),
    # ---- generate
    "gen_intro": ("Pick a trained adapter, tick the suggested tags (the trigger word first), and generate.",
                  "学習したアダプターを選び、おすすめのタグ（まずトリガーワード）にチェックを入れて生成します。"),
    "gen_prompt": ("Prompt (tags)", "プロンプト（タグ）"),
    "gen_prompt_info": ("Comma-separated tags; put the trigger word first.", "カンマ区切りのタグ。トリガーワードを先頭に。"),
    "gen_suggestions": ("Suggested tags", "おすすめのタグ"),
    "gen_suggestions_info": ("The adapter's trigger word and its dataset's most frequent tags.",
                             "アダプターのトリガーワードと、データセットでよく使われるタグ。"),
    "gen_negative": ("Negative prompt", "ネガティブプロンプト"),
    "gen_negative_info": ("What the pictures should avoid.", "画像に入れたくないもの。"),
    "gen_adapter_1": ("Adapter 1", "アダプター 1"),
    "gen_adapter_2": ("Adapter 2", "アダプター 2"),
    "gen_adapter_3": ("Adapter 3", "アダプター 3"),
    "gen_scale": ("Strength", "強さ"),
    "gen_scale_info": ("1 = as trained; lower it if pictures look overcooked.", "1 = 学習どおり。絵が崩れるなら下げます。"),
    "gen_base": ("Base model", "ベースモデル"),
    "gen_base_info": ("The adapter's training base is filled in; tiny is the offline test model.",
                      "アダプターを学習したベースが入ります。tiny はオフラインのテスト用モデルです。"),
    "gen_seed": ("Seed", "シード"),
    "gen_seed_info": ("-1 picks a random one (written into the PNG).", "-1 でランダム（PNG に記録されます）。"),
    "gen_steps": ("Steps", "ステップ数"),
    "gen_steps_info": ("More steps: more detail, slower (20-30 is typical).", "多いほど細かく、遅くなります（20〜30 が目安）。"),
    "gen_guidance": ("Guidance (CFG)", "ガイダンス（CFG）"),
    "gen_guidance_info": ("How strictly to follow the prompt (5-9 is typical).", "プロンプトにどれだけ従うか（5〜9 が目安）。"),
    "gen_sampler": ("Sampler", "サンプラー"),
    "gen_width": ("Width", "幅"),
    "gen_height": ("Height", "高さ"),
    "gen_size_info": ("0 = the base model's own size; otherwise a multiple of 8.", "0 = ベースモデル本来のサイズ。それ以外は 8 の倍数。"),
    "gen_batch": ("Pictures", "枚数"),
    "gen_run": ("Generate", "生成"),
    "gen_gallery": ("Pictures", "画像"),
    "gen_params": ("Parameters (click a picture)", "パラメーター（画像をクリック）"),
    "gen_files": ("Download PNGs", "PNG をダウンロード"),
    "gen_loading": ("loading base {base}", "ベース {base} を読み込み中"),
    "gen_working": ("generating {n} picture(s)", "{n} 枚を生成中"),
    "gen_caption": ("seed {seed}", "シード {seed}"),
    "gen_done": ("Generated {n} picture(s) into {folder}.", "{folder} に {n} 枚生成しました。"),
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
    # ---- lesson
    "ls_intro": ("How does a model learn something new from few pictures? This lesson trains a small classifier "
                 "in two phases (transfer learning, then fine-tuning) and explains every step. **lesson-quick** runs "
                 "offline in about a minute on drawn shapes; **lesson-cats-dogs** is the real tutorial (it downloads "
                 "MobileNetV2 and the photos once).",
                 "少ない画像から、モデルはどうやって新しいことを覚えるのでしょう？このレッスンでは小さな分類器を2段階"
                 "（転移学習→ファインチューニング）で学習させ、各ステップを説明します。**lesson-quick** は描いた図形で"
                 "オフラインのまま約1分、**lesson-cats-dogs** は本物のチュートリアルです（MobileNetV2 と写真を一度ダウンロード）。"),
    "ls_preset": ("Lesson", "レッスン"),
    "ls_preset_info": ("lesson-quick: offline, about a minute; lesson-cats-dogs: the real photos.",
                       "lesson-quick: オフラインで約1分、lesson-cats-dogs: 本物の写真。"),
    "ls_overrides": ("Changes (optional)", "変更（任意）"),
    "ls_overrides_info": ("One key=value per line, e.g. transfer.epochs=3 or finetune.learning_rate=1e-5.",
                          "1 行に 1 つ key=value。例: transfer.epochs=3、finetune.learning_rate=1e-5。"),
    "ls_run": ("Run the lesson", "レッスンを実行"),
    "ls_stop": ("Stop", "停止"),
    "ls_accuracy": ("Accuracy", "正解率"),
    "ls_loss": ("Loss", "損失"),
    "ls_figures": ("Learning curves and predictions on test pictures", "学習曲線とテスト画像への予測"),
    "ls_classify_intro": ("### Classify my photo\nUpload a picture: the model trained last says what it sees.",
                          "### 自分の写真を分類\n画像をアップロードすると、最後に学習したモデルが何に見えるかを答えます。"),
    "ls_photo": ("Your photo", "あなたの写真"),
    "ls_classify": ("Classify", "分類する"),
    "ls_answer": ("The model says", "モデルの答え"),
    "ls_stage_model": ("1. The model", "1. モデル"),
    "ls_stage_data": ("2. The pictures", "2. 画像"),
    "ls_stage_phase1": ("3. Phase 1: transfer learning", "3. フェーズ1：転移学習"),
    "ls_stage_phase2": ("4. Phase 2: fine-tuning", "4. フェーズ2：ファインチューニング"),
    "ls_stage_test": ("5. The test", "5. テスト"),
    "ls_stage_save": ("6. Saved", "6. 保存"),
    "ls_download": ("downloading the photos", "写真をダウンロード中"),
    "ls_reading": ("reading {split} pictures", "{split} の画像を読み込み中"),
    "ls_data": ("Classes: **{classes}**; {train} training, {validation} validation and {test} test pictures.",
                "クラス: **{classes}**。訓練用 {train} 枚、検証用 {validation} 枚、テスト用 {test} 枚。"),
    "ls_initial": ("Before any training the new head guesses: validation accuracy **{accuracy}**.",
                   "学習前の新しいヘッドは当てずっぽうです: 検証の正解率 **{accuracy}**。"),
    "ls_batch": ("phase {phase} · epoch {epoch} · step {step}/{steps} · loss {loss} · accuracy {accuracy}",
                 "フェーズ {phase} · エポック {epoch} · ステップ {step}/{steps} · 損失 {loss} · 正解率 {accuracy}"),
    "ls_test": ("**Test accuracy: {accuracy}** (pictures the model never saw while learning).",
                "**テストの正解率: {accuracy}**（学習中に一度も見ていない画像）。"),
    "ls_done": ("Done in {seconds} s.", "{seconds} 秒で完了しました。"),
    "ls_train": ("training", "訓練"),
    "ls_val": ("validation", "検証"),
    "ls_busy": ("A lesson is already running; wait for it or press Stop.",
                "レッスンはすでに実行中です。終わるのを待つか、停止を押してください。"),
    "ls_not_running": ("No lesson is running.", "実行中のレッスンはありません。"),
    "ls_stopping": ("Stopping after the current batch…", "今のバッチが終わったら止めます…"),
    "ls_no_photo": ("Upload a photo first.", "先に写真をアップロードしてください。"),
    "ls_no_model": ("No lesson model yet: run the lesson first.", "まだレッスンのモデルがありません。先にレッスンを実行してください。"),
}


def help_key(dotted: str) -> str:
    # Dots would be read as nested keys by the browser's translation library.
    return "h__" + dotted.replace(".", "__")


def _help_texts() -> dict[str, tuple[str, str]]:
    return {help_key(key): (f.metadata.get("help", ""), HELP_JA.get(key, f.metadata.get("help", "")))
            for key, _tp, f in config_fields(TrainConfig)}


# The browser gets the labels and help; the server-side messages only ever go through tr().
I18N = gr.I18n(**{lang: {key: pair[i] for key, pair in {**TEXT, **_help_texts()}.items()}
                  for i, lang in enumerate(LANGS)})
TEXT.update(MESSAGES)  # one table for the tests: every text has both languages and the same placeholders
ALL_TEXT = {**TEXT, **_help_texts()}


def tr(lang: str, key: str, /, **values: object) -> str:
    """The server-side text `key` in `lang` ('en' or 'ja'), with `{placeholders}` filled in."""
    pair = ALL_TEXT.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "ja" else pair[0]
    return text.format(**values) if values else text


class Msg(str):
    """A message the studio composed: its English text (so it works anywhere a str does, e.g. the API's JSON),
    plus the TEXT key and values that render it in the reader's language later."""

    key: str
    values: dict

    def __new__(cls, key: str, /, english: str | None = None, **values: object) -> Msg:
        self = super().__new__(cls, english if english is not None else tr("en", key, **values))
        self.key, self.values = key, values
        return self

    def text(self, lang: str) -> str:
        if lang != "ja":
            return str(self)
        return tr(lang, self.key, **{k: v.text(lang) if isinstance(v, Msg) else v for k, v in self.values.items()})


class StudioError(UserError):
    """A UserError the studio composed, so the page can show it in Japanese too; str() stays English."""

    def __init__(self, key: str, /, **values: object) -> None:
        self.msg = Msg(key, **values)
        super().__init__(str(self.msg))


_JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")  # kana and kanji


def say(lang: str, line: str, error: bool = False) -> str:
    """Any message in `lang`: a Msg in its own words; an English line from the core library translated when it
    is a known kind, else behind a Japanese lead-in that says the detail is in English."""
    if isinstance(line, Msg):
        return line.text(lang)
    if lang != "ja":
        return str(line)
    for pattern, key in CORE_PATTERNS:
        match = pattern.match(str(line))
        if match:
            return tr(lang, key, **match.groupdict())
    if _JAPANESE.search(str(line)):  # already written for a Japanese reader: no English lead-in
        return str(line)
    return tr(lang, "core_error" if error else "core_note", detail=str(line))
