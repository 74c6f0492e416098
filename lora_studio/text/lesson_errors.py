"""The lesson's errors and warnings (lesson/: its config, its photos, their download), by key:
`{key: (english, japanese)}`; part of CORE (text/core.py), so they are checked like the library's other errors."""

from __future__ import annotations

LESSON_ERRORS: dict[str, tuple[str, str]] = {
    # ---- lesson/: the transfer-learning lesson
    "lesson_config.file_missing": ("lesson config file '{path}' not found; pass {configs}",
                                   "レッスンの設定ファイル '{path}' が見つかりません。{configs} を指定してください"),
    "lesson_config.name_empty": ("name: must not be empty", "name: 空にはできません"),
    "lesson_config.bad_run_name": ("name: {name!r} is not a plain run name; use letters, digits, '-', '_' and '.' "
                                   "(e.g. lesson-cats-dogs): it names the run folder",
                                   "name: {name!r} は実行名に使えません。英数字と '-'・'_'・'.' だけにしてください"
                                   "（例: lesson-cats-dogs）。実行フォルダーの名前になります"),
    "lesson_config.archive": ("{problem}", "{problem}"),  # the photos' archive, checked before the run starts
    "lesson_config.base_empty": ("base: must not be empty; use {base}, a local folder, or tiny",
                                 "base: 空にはできません。{base}、ローカルのフォルダー、または tiny を指定してください"),
    "lesson_config.path_needed": ("data.path: needed for data.source=folder; give a folder with train/<class>/ and "
                                  "validation/<class>/ subfolders of images",
                                  "data.path: data.source=folder のときは必要です。train/<クラス>/ と "
                                  "validation/<クラス>/ に画像を入れたフォルダーを指定してください"),
    "lesson_config.no_epochs": ("transfer.epochs and finetune.epochs are both 0; train for at least one epoch",
                                "transfer.epochs と finetune.epochs が両方 0 です。少なくとも 1 エポックは学習させてください"),
    "lesson_config.no_cuda": ("device: cuda was asked for but PyTorch sees no CUDA GPU; use device=auto or device=cpu",
                              "device: cuda が指定されましたが、PyTorch から CUDA の GPU が見えません。device=auto か "
                              "device=cpu にしてください"),
    "lesson_train.stopped": ("the lesson was stopped; run it again to start over",
                             "レッスンを止めました。もう一度実行すると最初からやり直します"),
    "lesson_train.nan_loss": ("the loss became NaN or infinite; lower the learning rate and run again",
                              "損失が NaN か無限大になりました。学習率を下げてもう一度実行してください"),
    "lesson_data.not_image": ("'{source}' is not a readable image ({kind}: {detail})",
                              "'{source}' は読み込める画像ではありません（{kind}: {detail}）"),
    "lesson_data.skipped_file": ("{path}: {reason}", "{path}: {reason}"),
    "lesson_data.split_missing": ("'{folder}' does not exist; the dataset folder needs {split}/<class>/ subfolders of "
                                  "images (for example train/cats and train/dogs)",
                                  "'{folder}' がありません。データセットのフォルダーには、画像を入れた {split}/<クラス>/ の"
                                  "サブフォルダーが必要です（例: train/cats と train/dogs）"),
    "lesson_data.too_few_classes": ("'{folder}' has {count} class folder(s); it needs at least two, one per kind of "
                                    "picture (for example cats/ and dogs/)",
                                    "'{folder}' にはクラスのフォルダーが {count} 個しかありません。画像の種類ごとに 1 つ、"
                                    "少なくとも 2 つ必要です（例: cats/ と dogs/）"),
    "lesson_data.class_missing": ("'{folder}' is missing; every split needs the same class folders: {classes}",
                                  "'{folder}' がありません。どの分割にも同じクラスのフォルダーが必要です: {classes}"),
    "lesson_data.no_images": ("'{folder}' holds no images", "'{folder}' には画像がありません"),
    "lesson_data.no_readable_images": ("'{folder}' holds no readable images ({skipped} files skipped)",
                                       "'{folder}' には読み込める画像がありません（{skipped} 個のファイルを飛ばしました）"),
    "lesson_data.validation_too_small": ("the validation folder ({images} images) is too small to split {fraction:.0%} "
                                         "off as a test set; add images or change data.test_fraction",
                                         "検証用のフォルダー（画像 {images} 枚）は少なすぎて、{fraction:.0%} をテスト用に"
                                         "分けられません。画像を増やすか data.test_fraction を変えてください"),
    "lesson_data.folder_missing": ("dataset folder '{folder}' does not exist; give a folder with {train}/<class>/ and "
                                   "{validation}/<class>/ subfolders of images",
                                   "データセットのフォルダー '{folder}' がありません。画像を入れた {train}/<クラス>/ と "
                                   "{validation}/<クラス>/ のあるフォルダーを指定してください"),
    "lesson_data.validation_missing": ("'{folder}' does not exist; the dataset folder needs {validation}/<class>/ "
                                       "subfolders too ({classes})",
                                       "'{folder}' がありません。データセットのフォルダーには {validation}/<クラス>/ の"
                                       "サブフォルダーも必要です（{classes}）"),
    "lesson_data.offline_help": ("Check the internet connection and run again (a partial download resumes), or "
                                 "download {url} by hand and save it as '{archive}' (the next run unpacks it), or unzip "
                                 "it so that '{folder}' itself holds train/ and validation/; or use your own photos "
                                 "with data.source=folder data.path=FOLDER; or try everything offline with "
                                 "data.source=generated base=tiny.",
                                 "インターネットの接続を確かめてもう一度実行するか（途中までのダウンロードは続きから"
                                 "再開します）、{url} を手でダウンロードして '{archive}' として保存するか（次の実行で"
                                 "展開します）、'{folder}' の中に train/ と validation/ が来るように展開してください。"
                                 "自分の写真を使うなら data.source=folder data.path=フォルダー、すべてオフラインで"
                                 "試すなら data.source=generated base=tiny にします。"),
    "lesson_data.download_failed": ("could not download {url} ({reason}). {help}",
                                    "{url} をダウンロードできませんでした（{reason}）。{help}"),
    "lesson_data.size_differs": ("{url} is {total:,} bytes but {expected:,} were expected; the file on the server "
                                 "changed or the address is wrong (set data.expected_size to skip the check)",
                                 "{url} は {total:,} バイトですが、{expected:,} バイトのはずでした。サーバーのファイルが"
                                 "変わったか、アドレスが違います（確認を飛ばすなら data.expected_size を設定します）"),
    "lesson_data.broke_off": ("the download of {url} broke off after {done:,} bytes ({detail}); run again to resume it",
                              "{url} のダウンロードが {done:,} バイトで途切れました（{detail}）。もう一度実行すると"
                              "続きから再開します"),
    "lesson_data.incomplete": ("the download of {url} has {size:,} of {want:,} bytes; run again to resume it",
                               "{url} のダウンロードは {want:,} バイト中 {size:,} バイトだけです。もう一度実行すると"
                               "続きから再開します"),
    "lesson_data.unsafe_path": ("the archive holds an unsafe path '{name}'; it was not unpacked",
                                "アーカイブに安全でないパス '{name}' があるので、展開しませんでした"),
    "lesson_data.damaged_archive": ("'{archive}' is damaged (member '{member}' fails its checksum); delete it and run "
                                    "again to download it afresh",
                                    "'{archive}' は壊れています（'{member}' のチェックサムが合いません）。消してから"
                                    "もう一度実行すると、新しくダウンロードします"),
    "lesson_data.not_zip": ("'{archive}' is not a zip archive; delete it and run again to download it afresh",
                            "'{archive}' は zip アーカイブではありません。消してからもう一度実行すると、新しく"
                            "ダウンロードします"),
    "lesson_data.url_not_https": ("data.url '{url}': only https:// addresses are downloaded; for an archive on this "
                                  "computer give its path instead (data.url=/path/to/cats_and_dogs_filtered.zip)",
                                  "data.url '{url}': ダウンロードするのは https:// のアドレスだけです。このコンピューターに"
                                  "ある書庫ならそのパスを指定してください（data.url=/path/to/cats_and_dogs_filtered.zip）"),
    "lesson_data.download_not_https": ("'{url}' is not an https:// address; only https:// addresses are downloaded",
                                       "'{url}' は https:// のアドレスではありません。ダウンロードするのは https:// の"
                                       "アドレスだけです"),
    "lesson_data.url_not_file": ("data.url '{url}' is not a file; give the path of the downloaded zip archive or an "
                                 "https:// address",
                                 "data.url '{url}' はファイルではありません。ダウンロード済みの zip 書庫のパスか、"
                                 "https:// のアドレスを指定してください"),
    "lesson_data.archive_size": ("'{archive}' is {size:,} bytes, not {expected:,}; delete it and run again to "
                                 "download it afresh",
                                 "'{archive}' は {size:,} バイトで、{expected:,} バイトではありません。消してからもう一度"
                                 "実行すると、新しくダウンロードします"),
    "lesson_model.no_config": ("base folder '{path}' has no config.json; it must be a MobileNetV2 saved with "
                               "save_pretrained (for example a download of google/mobilenet_v2_1.0_224)",
                               "ベースのフォルダー '{path}' に config.json がありません。save_pretrained で保存した "
                               "MobileNetV2 にしてください（例: google/mobilenet_v2_1.0_224 をダウンロードしたもの）"),
    "lesson_model.folder_failed": ("could not load base folder '{path}': {detail}",
                                   "ベースのフォルダー '{path}' を読み込めませんでした（{detail}）"),
    "lesson_model.unknown_base": ("base '{base}' is neither an existing folder, a hub id (owner/name), nor 'tiny'",
                                  "ベース '{base}' は、あるフォルダーでも Hub ID（owner/name）でも 'tiny' でもありません"),
    "lesson_model.offline": ("could not load base model '{base}': it is not in the local Hugging Face cache and cannot "
                             "be downloaded here ({kind}). Run once with internet to cache it, point base at a local "
                             "folder holding its config.json and weights, or use base: tiny (with data.source: "
                             "generated) to try the lesson offline.",
                             "ベースモデル '{base}' を読み込めませんでした。Hugging Face のキャッシュになく、ここからは"
                             "ダウンロードもできません（{kind}）。インターネットにつながる状態で一度実行してキャッシュに"
                             "入れるか、base に config.json と重みのあるローカルのフォルダーを指定してください。"
                             "オフラインで試すなら base: tiny（と data.source: generated）にします。"),
    "lesson_model.no_model": ("'{run_dir}' holds no trained lesson model ({model} + {config}); run 'lora-studio lesson "
                              "CONFIG' first, or give the run folder it printed",
                              "'{run_dir}' には学習済みのレッスンのモデル（{model} と {config}）がありません。先に "
                              "'lora-studio lesson CONFIG' を実行するか、それが表示した実行フォルダーを指定してください"),
    "lesson_model.model_failed": ("could not load the lesson model in '{run_dir}': {detail}",
                                  "'{run_dir}' のレッスンのモデルを読み込めませんでした（{detail}）"),
}
