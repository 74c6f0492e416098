"""The studio's server-side messages in English and Japanese (refusals, warnings, run states, errors), and the
patterns that translate the core library's most common English lines (dataset warnings, out-of-range settings).

The English texts are the ones the API has always returned; only the Japanese side is new. i18n.py merges this
table into TEXT, so tests/test_ui_i18n.py checks both languages and their placeholders here too.
"""

from __future__ import annotations

import re

MESSAGES: dict[str, tuple[str, str]] = {
    # ---- compare refusals (compare_tab.py)
    "cmp_busy": ("A comparison is already running; wait until it finishes, then start again.",
                 "比較はすでに実行中です。終わるのを待ってから、もう一度始めてください。"),
    "cmp_still_training": ("Run '{name}' is still training; compare it once it has finished or been stopped.",
                           "実行 '{name}' はまだ学習中です。完了するか停止してから比較してください。"),
    "cmp_pick_run": ("Pick a run to compare (a finished or stopped one).", "比較する実行（完了または停止したもの）を選んでください。"),
    "cmp_pick_first": ("Click a picture of an adapter's row first.", "先にアダプターの行の画像をクリックしてください。"),
    # ---- upload refusals (paths.py, dataset_store.py)
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
    "up_broken": ("'{name}': {detail}; it was not saved",
                  "'{name}' は画像として読み込めないので、保存しませんでした（英語の詳細: {detail}）"),
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
    "tr_nothing_to_stop": ("no training is running, so there is nothing to stop",
                           "実行中の学習はないので、止めるものはありません"),
    "tr_busy": ("a training is already running (run '{name}'); stop it or wait until it finishes, then start again",
                "学習 '{name}' がすでに実行中です。止めるか終わるのを待ってから、もう一度開始してください"),
    "tr_already_finished": ("run '{name}' already finished; start a new run to train more",
                            "実行 '{name}' はもう完了しています。さらに学習するなら新しく開始してください"),
    "st_stopped": ("stopped at step {step}: the adapter {adapter} is saved; press Resume to continue",
                   "ステップ {step} で停止しました。アダプター {adapter} は保存済みです。続けるには「選んだ実行を再開」を押してください"),
    "st_stopped_plain": ("stopped at step {step}; press Resume to continue",
                         "ステップ {step} で停止しました。続けるには「選んだ実行を再開」を押してください"),
    "st_no_samples": ("No sample images were made (sample.every_n_steps: {every}; 0 makes them only at the end).",
                      "サンプル画像は作られていません（sample.every_n_steps: {every}。0 なら最後にだけ作ります）。"),
    "st_failed": ("{detail}", "学習は失敗しました。英語の詳細: {detail}"),
    "st_loading_base": ("loading the base model", "ベースモデルを読み込み中"),
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
    # ---- automatic tagging and pruning (tag_panel.py)
    "tg_loading": ("Loading the tagger {model}...", "タガー {model} を読み込んでいます..."),
    "tg_progress": ("Tagging pictures", "画像にタグを付けています"),
    "tg_done": ("Tagged {tagged} of {total} picture(s) with {model}; {changed} tag file(s) written. Check the tags, "
                "then prune below; **Undo the last automatic change** puts the previous tags back.",
                "{model} で {total} 枚中 {tagged} 枚にタグを付け、{changed} 個のタグファイルを書きました。タグを確かめ、"
                "下で整理してください。**最後の自動変更を元に戻す** で前のタグに戻せます。"),
    "tg_tiny_note": ("tagger 'tiny' is a random offline test model: its tags are meaningless, it only proves the "
                     "tagging flow works",
                     "タガー 'tiny' はランダムなオフラインのテスト用モデルです。タグに意味はなく、流れが動くことを"
                     "確かめるためだけのものです"),
    "tg_no_pictures": ("dataset '{name}' has no pictures to tag: add some first",
                       "データセット '{name}' にはタグを付ける画像がありません。先に画像を追加してください"),
    "tg_bad_model": ("tagger '{model}' is not one of the studio's choices ({choices}); other taggers work with "
                     "lora-studio tag --model",
                     "タガー '{model}' はスタジオの選択肢（{choices}）にありません。ほかのタガーは lora-studio tag "
                     "--model で使えます"),
    "tg_no_backup": ("there is nothing to undo in dataset '{name}': automatic tagging and removing tags keep the "
                     "previous tags once, and undoing uses them up",
                     "データセット '{name}' には元に戻せる変更がありません。自動タグ付けとタグの削除は前のタグを 1 回分"
                     "だけ残し、元に戻すとそれを使い切ります"),
    "tg_restored": ("Put back the tags of {n} picture(s) from before the last automatic change.",
                    "最後の自動変更の前のタグに {n} 枚の画像を戻しました。"),
    "pr_found": ("{n} tag(s) describe the character and are on most pictures; they are checked below. Uncheck the "
                 "ones you want to keep typing in prompts, then remove the others.",
                 "{n} 個のタグがキャラクターそのものを表し、ほとんどの画像に付いています。下でチェックしてあります。"
                 "プロンプトで書き続けたいものはチェックを外し、残りを削除してください。"),
    "pr_none": ("No tag competes with the trigger word: no hair, eye, hairstyle or character tag is on most "
                "pictures.",
                "トリガーワードと競合するタグはありません。髪・目・髪型・キャラクターのタグで、ほとんどの画像に"
                "付いているものはありません。"),
    "pr_choice": ("{tag}: {count} of {total} pictures ({kind})", "{tag}: {total} 枚中 {count} 枚（{kind}）"),
    "pr_kind_character": ("character", "キャラクター"),
    "pr_kind_hair": ("hair", "髪"),
    "pr_kind_eyes": ("eyes", "目"),
    "pr_kind_hairstyle": ("hairstyle", "髪型"),
    "pr_kind_body": ("body", "体"),
    "pr_pick": ("check the tags to remove first", "先に削除するタグをチェックしてください"),
    "pr_removed": ("Removed {tags} from {n} picture(s); **Undo the last automatic change** puts them back.",
                   "{n} 枚の画像から {tags} を削除しました。**最後の自動変更を元に戻す** で戻せます。"),
    "core_tagger_offline": ("could not load the tagger '{model}': {detail}",
                            "タガー '{model}' を読み込めませんでした。このコンピューターの Hugging Face キャッシュになく、"
                            "ここからはダウンロードできません。一度インターネットにつないでダウンロードするか、"
                            "tiny で流れだけ試してください（英語の詳細: {detail}）"),
    "core_tagger_timm": ("automatic tagging needs the timm package: {detail}",
                         "自動タグ付けには timm パッケージが必要です: {detail}"),
    # ---- the core library's English, in Japanese (see CORE_PATTERNS)
    "core_note": ("{detail}", "注意（英語のメッセージ）: {detail}"),
    "core_error": ("{detail}", "うまくいきませんでした。英語の詳細: {detail}"),
    "core_ignored_folder": ("ignored folder '{folder}': name it like '{like}' to train its images 10 times per epoch",
                            "フォルダー '{folder}' の画像は使われません。1 エポックに 10 回ずつ学習させるなら、"
                            "'{like}' のような名前にしてください"),
    "core_ignored_type": ("ignored '{name}': {suffix} is not trained on; save it as PNG or JPEG to use it",
                          "'{name}' は使われません。{suffix} は学習に使えないので、使うなら PNG か JPEG で保存してください"),
    "core_too_small": ("skipped '{name}': is too small to train on ({size}; each side needs at least "
                       "bucket_step={step} px)",
                       "'{name}' はスキップされました。学習には小さすぎます（{size}。縦横とも {step} px 以上が必要です）"),
    "core_skipped": ("skipped '{name}': {detail}", "'{name}' は読み込めないのでスキップされました（英語の詳細: {detail}）"),
    "core_no_caption": ("no caption for '{name}' (expected {expected}): it is trained with the trigger word only",
                        "'{name}' にはタグファイル（{expected}）がないので、トリガーワードだけで学習します"),
    "core_caption_empty": ("caption '{caption}' is empty: '{name}' is trained with the trigger word only",
                           "タグファイル '{caption}' が空なので、'{name}' はトリガーワードだけで学習します"),
    "core_no_images": ("dataset '{folder}' has no usable images {detail}",
                       "データセット '{folder}' には学習に使える画像がありません（英語の詳細: {detail}）"),
    "core_no_run_yet": ("there is no training run yet; start one in the Train tab",
                        "まだ学習の実行がありません。学習のタブで開始してください"),
    "core_starting": ("a training is starting right now; wait a moment and look at the Train tab",
                      "学習をちょうど開始しているところです。少し待ってから学習のタブを見てください"),
    "core_run_missing": ("run '{run}' not found in {outputs}", "実行 '{run}' は {outputs} にありません"),
    "core_no_config": ("run '{name}' has no config.yaml, so it cannot be resumed",
                       "実行 '{name}' には config.yaml がないので、再開できません"),
    "core_too_small_value": ("{setting}: {value} is too small; it must be at least {lo}",
                             "{setting}: {value} は小さすぎます。{lo} 以上にしてください"),
    "core_too_large_value": ("{setting}: {value} is too large; it must be at most {hi}",
                             "{setting}: {value} は大きすぎます。{hi} 以下にしてください"),
    "core_more_than": ("{setting}: {value} is too small; it must be more than {lo}",
                       "{setting}: {value} は小さすぎます。{lo} より大きくしてください"),
}

# English lines from lora_studio/data.py and config.py, matched whole; anything else gets the "core_*" lead-in.
CORE_PATTERNS: list[tuple[re.Pattern, str]] = [(re.compile(pattern), key) for pattern, key in [
    (r"^ignored folder '(?P<folder>.+)': name it like '(?P<like>[^']+)' to train its images 10 times per epoch$",
     "core_ignored_folder"),
    (r"^ignored '(?P<name>.+)': (?P<suffix>\.\w+) is not trained on; save it as PNG or JPEG to use it$",
     "core_ignored_type"),
    (r"^skipped '(?P<name>.+)': is too small to train on \((?P<size>\d+x\d+); each side needs at least "
     r"bucket_step=(?P<step>\d+) px\)$", "core_too_small"),
    (r"^skipped '(?P<name>.+?)': (?P<detail>.+)$", "core_skipped"),
    (r"^no caption for '(?P<name>.+)' \(expected (?P<expected>.+)\): it is trained with the trigger word only$",
     "core_no_caption"),
    (r"^caption '(?P<caption>.+)' is empty: '(?P<name>.+)' is trained with the trigger word only$",
     "core_caption_empty"),
    (r"^dataset '(?P<folder>.+?)' has no usable images (?P<detail>.+)$", "core_no_images"),
    (r"^a training is already running \(run '(?P<name>.+?)', process \d+\); stop it or wait until it finishes, "
     r"then start again$", "tr_busy"),
    (r"^loading the base model$", "st_loading_base"),
    (r"^could not load the tagger '(?P<model>[^']+)': (?P<detail>.+)$", "core_tagger_offline"),
    (r"^automatic tagging needs the timm package: (?P<detail>.+)$", "core_tagger_timm"),
    (r"^there is no training run yet; start one in the Train tab$", "core_no_run_yet"),
    (r"^a training is starting right now; wait a moment and look at the Train tab$", "core_starting"),
    (r"^no training is running, so there is nothing to stop$", "tr_nothing_to_stop"),
    (r"^run '(?P<run>.+?)' not found in (?P<outputs>.+)$", "core_run_missing"),
    (r"^run '(?P<name>.+?)' has no config.yaml, so it cannot be resumed$", "core_no_config"),
    (r"^run '(?P<name>.+?)' already finished; start a new run to train more$", "tr_already_finished"),
    (r"^(?P<setting>[\w.]+): (?P<value>\S+) is too small; it must be at least (?P<lo>\S+)$", "core_too_small_value"),
    (r"^(?P<setting>[\w.]+): (?P<value>\S+) is too large; it must be at most (?P<hi>\S+)$", "core_too_large_value"),
    (r"^(?P<setting>[\w.]+): (?P<value>\S+) is too small; it must be more than (?P<lo>\S+)$", "core_more_than"),
]]
