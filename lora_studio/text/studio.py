"""The studio's texts, by key: `{key: (english, japanese)}`: labels, headings and help texts (sent to the browser
as a gr.I18n table), and the messages the server composes (refusals, warnings, run states).

The English messages are the ones the API has always returned. The library's own errors and warnings are in core.py
(the studio renders them from their keys), the lesson's texts in lesson.py, the settings' help in help.py.
"""

from __future__ import annotations

from .compare import COMPARE_STUDIO
from .sdxl import SDXL_STUDIO
from .tagging import TAGGER_STUDIO

STUDIO: dict[str, tuple[str, str]] = {
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
    "unexpected_error": ("Something went wrong ({kind}: {detail}). The studio's console has the details.",
                         "予期しないエラーが起きました（{kind}: {detail}）。詳細はスタジオのコンソールにあります。"),
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

    # ---- upload refusals (studio_paths.py, dataset_import.py)
    "up_absolute": ("'{name}' is an absolute path; only plain file names can be uploaded",
                    "'{name}' は絶対パスなので保存しませんでした。ファイル名だけのものをアップロードしてください"),
    "up_outside": ("'{name}' points outside the dataset folder ('..'); it was not saved",
                   "'{name}' はデータセットのフォルダーの外を指している（'..'）ので、保存しませんでした"),
    "up_hidden": ("'{name}' is a hidden file or folder; it was not saved",
                  "'{name}' は隠しファイル（または隠しフォルダー）なので、保存しませんでした"),
    "path_link": ("'{name}' is a symbolic link; links are never followed or overwritten",
                  "'{name}' はシンボリックリンクです。リンクはたどらず、上書きもしません"),
    "path_outside": ("'{name}' points outside '{folder}'; it was not saved",
                     "'{name}' は '{folder}' の外を指しているので、保存しませんでした"),
    "bad_name": ("{what} '{name}' is not allowed: use 1-64 letters, digits, '-', '_' or '.', starting with a letter "
                 "or digit (for example my-character)",
                 "{what} '{name}' は使えません。英数字と '-'・'_'・'.' を 1〜64 文字で、先頭は英数字にしてください"
                 "（例: my-character）"),
    "what_dataset": ("dataset name", "データセット名"),
    "what_run": ("run name", "実行名"),
    "up_not_picture": ("'{name}' is not a picture ({exts}) or a tag file (.txt); it was not saved",
                       "'{name}' は画像（{exts}）でもタグファイル（.txt）でもないので、保存しませんでした"),
    "up_too_large_kib": ("'{name}' is too large ({kib} KiB); it was not saved",
                         "'{name}' は大きすぎる（{kib} KiB）ので、保存しませんでした"),
    "up_broken": ("{detail}; it was not saved", "{detail}。保存しませんでした"),
    "up_no_picture": ("'{name}' has no picture of the same name (like {stem}.png); tag files must be named after "
                      "their picture",
                      "'{name}' と同じ名前の画像（{stem}.png など）がありません。タグファイルは画像と同じ名前にしてください"),
    "up_bad_zip": ("'{name}' is not a readable zip file ({error})",
                   "'{name}' は読み込める zip ファイルではありません（{error}）"),
    "up_zip_unreadable": ("'{name}' in {archive} cannot be read ({error}); it was not saved: zip the folder again",
                          "{archive} の中の '{name}' は読み込めない（{error}）ので、保存しませんでした。"
                          "フォルダーをもう一度 zip にしてください"),
    "up_zip_link": ("'{name}' in {archive} is a symbolic link; links are never extracted",
                    "{archive} の中の '{name}' はシンボリックリンクです。リンクは展開しません"),
    "up_zip_large": ("'{name}' in {archive} is too large once unpacked; it was not saved",
                     "{archive} の中の '{name}' は展開すると大きすぎるので、保存しませんでした"),
    "up_link": ("'{name}' is a symbolic link; links are never followed",
                "'{name}' はシンボリックリンクです。リンクはたどりません"),
    "up_too_large": ("'{name}' is too large; it was not saved", "'{name}' は大きすぎるので、保存しませんでした"),
    # ---- dataset view and tag editing (dataset_store.py)
    "ds_dup": ("duplicate pictures: {names} are the same file; keep one of them",
               "同じ画像が重複しています: {names} は同じファイルです。1 枚だけ残してください"),
    "ds_link_skipped": ("skipped '{name}': it is a symbolic link; links are never followed (copy the file in instead)",
                        "'{name}' はスキップしました。シンボリックリンクはたどりません（ファイルそのものをコピーしてください）"),
    "ds_folder_link": ("dataset '{name}' is a symbolic link; the studio never reads, writes or deletes through links: "
                       "move or copy the folder itself into datasets/",
                       "データセット '{name}' はシンボリックリンクです。スタジオはリンク先を読み書き・削除しません。"
                       "フォルダーそのものを datasets/ に移動するかコピーしてください"),
    "ds_small": ("small picture '{name}' ({w}x{h}): pictures of {side}-1024 px or more train much better",
                 "小さい画像 '{name}'（{w}x{h}）: {side}〜1024 px 以上の画像のほうがずっとよく学習できます"),
    "ds_sample_small": ("the {n} built-in sample pictures are small on purpose ({side} px would train better): they "
                        "are for trying the flow offline on the tiny model; for a real LoRA use pictures of "
                        "{side}-1024 px or more",
                        "組み込みのサンプル画像 {n} 枚はわざと小さくしてあります（{side} px 以上のほうがよく学習できます）。"
                        "tiny モデルでオフラインに流れを試すためのものです。本番の LoRA には {side}〜1024 px 以上の画像を"
                        "使ってください"),
    "ds_type_tag": ("type a tag first (for example 'smile')", "先にタグを入力してください（例: smile）"),
    "ds_type_tag_remove": ("type the tag to remove first", "先に削除するタグを入力してください"),
    "ds_not_in": ("picture '{name}' is not in dataset '{dataset}'",
                  "画像 '{name}' はデータセット '{dataset}' にありません"),
    # ---- training (train_form.py, train_tab.py)
    "tr_length_bad": ("train length: give a number of steps or epochs of at least 1",
                      "学習の長さ: 1 以上のステップ数かエポック数を入れてください"),
    "tr_base_missing": ("base: type the hub id (owner/name), the folder or the .safetensors file of the base model, "
                        "or choose 'tiny' to try the flow offline",
                        "ベースモデル: Hub ID（owner/name）、フォルダー、または .safetensors ファイルを入力してください。"
                        "オフラインで流れだけ試すなら 'tiny' を選びます"),
    "preset_missing": ("preset '{name}' not found; choose one of: {names}",
                       "プリセット '{name}' が見つかりません。次から選んでください: {names}"),
    "tr_outside_datasets": ("{key} '{path}' must be a dataset folder under {datasets}",
                            "{key} '{path}' は {datasets} の中のデータセットにしてください"),
    "tr_no_pickle": ("allow_pickle cannot be turned on in the studio (a pickle checkpoint can run code); convert the "
                     "base to .safetensors, or train it with `lora-studio train` if you trust it",
                     "スタジオでは allow_pickle をオンにできません（pickle のチェックポイントはプログラムを実行できます）。"
                     "ベースを .safetensors に変換するか、信頼できるファイルなら `lora-studio train` で学習してください"),
    "tr_resume_outside": ("train.resume '{resume}': the studio resumes only from 'latest' or a checkpoint folder of a "
                          "run in {outputs} (outputs/<run>/checkpoints/step-N); pick the run and press Resume",
                          "train.resume '{resume}': スタジオで再開できるのは 'latest' か、{outputs} の中の実行の"
                          "チェックポイント（outputs/<実行>/checkpoints/step-N）だけです。実行を選んで再開を押してください"),
    "tr_dataset_links": ("dataset '{name}' holds symbolic links ({links}); the studio never follows links: copy those "
                         "files into the folder instead",
                         "データセット '{name}' にシンボリックリンクがあります（{links}）。スタジオはリンクをたどらないので、"
                         "ファイルそのものをフォルダーにコピーしてください"),
    "tr_stop_requested": ("stop requested for run '{name}': it saves a checkpoint and the adapter, then ends; "
                          "resume it later to continue",
                          "実行 '{name}' に停止を頼みました。チェックポイントとアダプターを保存してから終わります。"
                          "続きは後で「選んだ実行を再開」から学習できます"),
    "st_stopped": ("stopped at step {step}: the adapter {adapter} is saved; press Resume to continue",
                   "ステップ {step} で停止しました。アダプター {adapter} は保存済みです。続けるには「選んだ実行を再開」を押してください"),
    "st_stopped_plain": ("stopped at step {step}; press Resume to continue",
                         "ステップ {step} で停止しました。続けるには「選んだ実行を再開」を押してください"),
    "st_no_samples": ("No sample images were made (sample.every_n_steps: {every}; 0 makes them only at the end).",
                      "サンプル画像は作られていません（sample.every_n_steps: {every}。0 なら最後にだけ作ります）。"),
    "st_failed": ("{detail}", "学習は失敗しました: {detail}"),
    "st_loss": ("loss {loss}", "損失 {loss}"),
    "col_tag": ("tag", "タグ"),
    "col_images": ("images", "画像の数"),
    "col_run": ("run", "実行"),
    "col_state": ("state", "状態"),
    "col_step": ("step", "ステップ"),
    "col_adapter": ("adapter", "アダプター"),
    "toast_error": ("Error", "エラー"),
    "toast_warning": ("Warning", "注意"),
    "toast_info": ("Info", "お知らせ"),
    # ---- lesson and generate
    "ls_preset_missing": ("lesson preset '{name}' not found; choose one of: {names}",
                          "レッスンのプリセット '{name}' が見つかりません。次から選んでください: {names}"),
    "ls_locked": ("'{line}': {key} cannot be changed in the studio", "'{line}': {key} はスタジオでは変更できません"),
    "ls_outside": ("data.path '{path}' must be a folder under {datasets}",
                   "data.path '{path}' は {datasets} の中のフォルダーにしてください"),
    "ls_not_run": ("'{run}' is not a lesson run folder under {lessons}",
                   "'{run}' は {lessons} の中にあるレッスンの実行フォルダーではありません"),
    "gen_bad_adapter": ("adapter '{value}' is not a .safetensors file under {outputs}; pick one from the list of "
                        "trained runs",
                        "アダプター '{value}' は {outputs} の中の .safetensors ファイルではありません。学習済みの一覧から"
                        "選んでください"),
    # ---- launching (app.py)
    "app_bad_auth": ("--auth must look like user:password (both parts non-empty)",
                     "--auth は user:password の形にしてください（どちらも空にはできません）"),
    "app_unreachable": ("the studio started at {url} but could not reach its own page ({detail}); check that no proxy "
                        "(HTTP_PROXY without NO_PROXY=127.0.0.1,localhost) or firewall blocks local connections, then "
                        "start it again",
                        "スタジオは {url} で起動しましたが、自分のページに届きませんでした（{detail}）。ローカルへの接続を"
                        "プロキシ（NO_PROXY=127.0.0.1,localhost のない HTTP_PROXY）やファイアウォールが妨げていないか"
                        "確かめてから、もう一度起動してください"),
    "app_open_to_others": ("the studio is reachable from other computers ({where}) without --auth user:password; anyone "
                           "who can reach it can train, generate and upload files",
                           "スタジオは --auth user:password なしでほかのコンピューターから開けます（{where}）。"
                           "開ける人はだれでも学習・生成・ファイルのアップロードができます"),
    "app_share_link": ("share link", "共有リンク"),
    "app_not_answering": ("the studio started at {url} but its page did not answer within {seconds} s; check that "
                          "no proxy (HTTP_PROXY without NO_PROXY=127.0.0.1,localhost) or firewall blocks local "
                          "connections, then start it again",
                          "スタジオは {url} で起動しましたが、{seconds} 秒以内にページが応答しませんでした。ローカル"
                          "への接続をプロキシ（NO_PROXY=127.0.0.1,localhost のない HTTP_PROXY）やファイアウォールが"
                          "妨げていないか確かめてから、もう一度起動してください"),
}

STUDIO |= TAGGER_STUDIO | SDXL_STUDIO | COMPARE_STUDIO  # text/tagging.py, text/sdxl.py, text/compare.py
