"""Automatic tagging's texts, by key: `{key: (english, japanese)}`. TAGGER_ERRORS are the library's errors and
notes (tagger.py, tag_options.py, tag_files.py, tag_cli.py; part of CORE); TAGGER_STUDIO the studio's tag panel
(ui/tag_panel.py: labels, help and messages; part of STUDIO)."""

from __future__ import annotations

TAGGER_ERRORS: dict[str, tuple[str, str]] = {
    # ---- tagger.py, tag_options.py, tag_files.py, tag_cli.py: automatic tagging
    "tagger.tiny_note": ("tagger 'tiny' is a random offline test model: its tags are meaningless, it only proves the "
                         "tagging flow works",
                         "タガー 'tiny' はランダムなオフラインのテスト用モデルです。タグに意味はなく、流れが動くことを"
                         "確かめるためだけのものです"),
    "tagger.needs_timm": ('automatic tagging needs the timm package: pip install "lora-studio[tag]" (or pip install '
                          'timm)',
                          '自動タグ付けには timm パッケージが必要です。pip install "lora-studio[tag]"'
                          "（または pip install timm）でインストールしてください"),
    "tagger.bad_tag_list_header": ("tag list '{path}' does not start with tag_id,name,category; it is not a WD "
                                   "tagger's selected_tags.csv",
                                   "タグ一覧 '{path}' が tag_id,name,category で始まっていません。WD タガーの "
                                   "selected_tags.csv ではありません"),
    "tagger.bad_tag_list_line": ("tag list '{path}' line {line} is not 'tag_id,name,category,count'",
                                 "タグ一覧 '{path}' の {line} 行目が 'tag_id,name,category,count' の形になっていません"),
    "tagger.folder_incomplete": ("tagger folder '{path}' has no {missing}; it must hold a timm model (config.json, "
                                 "model.safetensors) and its {tags}",
                                 "タガーのフォルダー '{path}' に {missing} がありません。timm のモデル（config.json、"
                                 "model.safetensors）と {tags} を入れてください"),
    "tagger.unknown_model": ("tagger model '{model}' is neither {models}, a hub id (owner/name), a local folder, nor "
                             "tiny",
                             "タガーのモデル '{model}' は {models} のどれでもなく、ハブの ID（owner/name）でも、"
                             "このコンピューターのフォルダーでも、tiny でもありません"),
    "tagger.offline": ("could not load the tagger '{repo}': it is not in the local Hugging Face cache and cannot be "
                       "downloaded here ({kind}). Connect to the internet once (it is downloaded once into the Hugging "
                       "Face cache, a few hundred MB), point --model at a folder holding its config.json, "
                       "model.safetensors and {tags}, or use --model tiny to try the flow offline (its tags are "
                       "meaningless).",
                       "タガー '{repo}' を読み込めませんでした。このコンピューターの Hugging Face キャッシュになく、"
                       "ここからはダウンロードできません（{kind}）。一度インターネットにつなぐ（Hugging Face の"
                       "キャッシュに一度だけ数百 MB ダウンロードします）か、--model に config.json・model.safetensors・"
                       "{tags} の入ったフォルダーを指定するか、--model tiny でオフラインに流れだけ試してください"
                       "（tiny のタグに意味はありません）。"),
    "tagger.not_on_hub": ("tagger '{repo}' was not found on the Hugging Face hub (or needs a login); check the id, "
                          "e.g. SmilingWolf/wd-vit-tagger-v3",
                          "タガー '{repo}' は Hugging Face のハブに見つかりません（またはログインが必要です）。"
                          "ID を確かめてください（例: SmilingWolf/wd-vit-tagger-v3）"),
    "tagger.not_a_tagger": ("could not load '{repo}' as a WD tagger ({kind}: {detail}); it must publish a timm model "
                            "and {tags} like SmilingWolf/wd-vit-tagger-v3",
                            "'{repo}' を WD タガーとして読み込めませんでした（{kind}: {detail}）。"
                            "SmilingWolf/wd-vit-tagger-v3 のように timm のモデルと {tags} を公開しているものを"
                            "指定してください"),
    "tagger.folder_not_loading": ("tagger folder '{where}' does not hold a timm model that loads ({kind}: {detail}); "
                                  "save it with timm (config.json, model.safetensors)",
                                  "タガーのフォルダー '{where}' には読み込める timm のモデルがありません"
                                  "（{kind}: {detail}）。timm で保存し直してください（config.json、model.safetensors）"),
    "tagger.tag_count_differs": ("tagger '{model}' predicts {predicts} tags but its {tags} lists {lists}; download it "
                                 "again",
                                 "タガー '{model}' は {predicts} 個のタグを予測しますが、{tags} には {lists} 個しか"
                                 "ありません。もう一度ダウンロードしてください"),
    "tagger.bad_threshold": ("{key} {value} is out of range: a confidence between 0 and 1, e.g. 0.35",
                             "{key} {value} は範囲外です。0 から 1 までの確信度にしてください（例: 0.35）"),
    "tagger.bad_mode": ("mode '{mode}' is unknown: use one of {modes}",
                        "モード '{mode}' はありません。次から選んでください: {modes}"),
    "tagger.bad_batch_size": ("batch_size {batch_size} must be at least 1",
                              "batch_size {batch_size} は 1 以上にしてください"),
    "tagger.folder_missing": ("dataset folder '{folder}' not found; give a folder of pictures, e.g. "
                              "datasets/my-character",
                              "データセットのフォルダー '{folder}' が見つかりません。画像の入ったフォルダーを指定して"
                              "ください（例: datasets/my-character）"),
    "tagger.no_backup": ("dataset '{name}' has no tag backup to restore: one is kept by automatic tagging and by "
                         "removing tags from every picture, and is used up by restoring it",
                         "データセット '{name}' には戻せるタグの控えがありません。控えは自動タグ付けと全画像からの"
                         "タグ削除のときに残り、元に戻すと使い切ります"),
    "tagger.backup_too_large": ("tag backup '{path}' is larger than {mb} MB; it is not ours",
                                "タグの控え '{path}' が {mb} MB より大きいので、このアプリのものではありません"),
    "tagger.backup_damaged": ("tag backup '{path}' is damaged ({detail}); delete it, the captions themselves are "
                              "untouched",
                              "タグの控え '{path}' が壊れています（{detail}）。削除してください。キャプション自体は"
                              "そのままです"),
    "tagger.backup_bad_name": ("tag backup of '{name}' names '{relative}', which is not a caption file in the "
                               "dataset; delete {backup}",
                               "'{name}' のタグの控えにある '{relative}' はデータセットのキャプションファイルでは"
                               "ありません。{backup} を削除してください"),
    "tagger.caption_link": ("'{relative}' in dataset '{name}' is a link; its tags are not restored",
                            "データセット '{name}' の '{relative}' はリンクなので、タグを戻しません"),
    "tagger.dataset_link": ("dataset '{name}' is a link; its tags are not restored",
                            "データセット '{name}' はリンクなので、タグを戻しません"),
    "tagger.nothing_to_remove": ("no tags chosen to remove: pick the tags first",
                                 "削除するタグが選ばれていません。先にタグを選んでください"),
}

TAGGER_STUDIO: dict[str, tuple[str, str]] = {
    # ---- labels and help (sent to the browser)
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
    # ---- messages the server composes
    "tg_loading": ("Loading the tagger {model}...", "タガー {model} を読み込んでいます..."),
    "tg_progress": ("Tagging pictures", "画像にタグを付けています"),
    "tg_done": ("Tagged {tagged} of {total} picture(s) with {model}; {changed} tag file(s) written. Check the tags, "
                "then prune below; **Undo the last automatic change** puts the previous tags back.",
                "{model} で {total} 枚中 {tagged} 枚にタグを付け、{changed} 個のタグファイルを書きました。タグを確かめ、"
                "下で整理してください。**最後の自動変更を元に戻す** で前のタグに戻せます。"),
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
}
