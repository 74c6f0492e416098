"""The library's errors and warnings, by key: `{key: (english, japanese)}`. Raised as
`ConfigError("config.unknown_key", key=..., known=...)`; the English is what the CLI and the logs print.

Keys are `<area>.<what>`; the Japanese is written for a beginner (what happened, then what to do).
"""

from __future__ import annotations

from .compare import COMPARE_ERRORS
from .console import CONSOLE
from .lesson_errors import LESSON_ERRORS
from .sdxl import SDXL_ERRORS
from .tagging import TAGGER_ERRORS

CORE: dict[str, tuple[str, str]] = {
    # ---- config.py, config_values.py, config_versions.py
    "config.bad_run_name": (
        "name: {name!r} is not a plain run name; use letters, digits, '-', '_' and '.' (e.g. my-lora): it names "
        "the run folder and the adapter file",
        "name: {name!r} は実行名に使えません。英数字と '-'・'_'・'.' だけにしてください（例: my-lora）。"
        "実行フォルダーとアダプターのファイル名になります"),
    "config.alpha_zero": (
        "lora.alpha: 0 scales the adapter by alpha / rank = 0, so it would train nothing; refused rather than "
        "guessed. Use half the rank (lora.alpha={half}) or, as kohya does when alpha is not given, the rank itself "
        "(lora.alpha={rank})",
        "lora.alpha: 0 だとアダプターに alpha / rank = 0 が掛かり、何も学習しません。推測で決めずに止めます。"
        "rank の半分（lora.alpha={half}）か、kohya が alpha を指定しないときと同じく rank そのもの"
        "（lora.alpha={rank}）にしてください"),
    "config.int_too_big": ("{key}: {value} does not fit in 64 bits; give a smaller whole number",
                           "{key}: {value} は 64 ビットに収まりません。もっと小さい整数にしてください"),
    "config.too_many_digits": ("{key}: a number of {digits} digits is too large; give an ordinary number such as 1e-4",
                               "{key}: {digits} 桁の数は大きすぎます。1e-4 のようなふつうの数を入れてください"),
    "config.nul_byte": ("{key}: {value!r} contains a NUL byte (\\0), which no file name or text here may hold; "
                        "retype the value",
                        "{key}: {value!r} には NUL 文字（\\0）が入っています。ファイル名にも文字列にも使えないので、"
                        "値を入力し直してください"),
    "config.control_character": ("{key}: {value!r} holds a line break or another control character; a name or a path "
                                 "must be one line of ordinary characters",
                                 "{key}: {value!r} には改行などの制御文字が入っています。名前やパスはふつうの文字だけの"
                                 "1 行にしてください"),
    "config.not_above": ("{key}: {value} is too small; it must be more than {lo}",
                         "{key}: {value} は小さすぎます。{lo} より大きくしてください"),
    "config.too_deep": ("{where} is nested more than {depth} levels deep; a config has a few levels of keys "
                        "(dataset: path: ...), write it that way",
                        "{where} は {depth} 段より深く入れ子になっています。設定のキーは数段（dataset: path: ...）"
                        "なので、その形で書いてください"),
    "config.where_override": ("override '{key}'", "上書き '{key}'"),
    "config.where_file": ("config file '{path}'", "設定ファイル '{path}'"),
    "config.not_utf8": ("config file '{path}' is not UTF-8 text (byte 0x{byte} at position {position}); save it as "
                        "UTF-8 (for example in Notepad: Save As, Encoding: UTF-8; Japanese Windows often saves "
                        "Shift_JIS)",
                        "設定ファイル '{path}' は UTF-8 のテキストではありません（位置 {position} のバイト 0x{byte}）。"
                        "UTF-8 で保存し直してください（たとえばメモ帳なら「名前を付けて保存」で文字コードを UTF-8 に。"
                        "日本語の Windows はよく Shift_JIS で保存します）"),
    "config.bucket_step_multiple": (
        "dataset.bucket_step: {value} must be a multiple of 8 (the VAE works in 8-pixel blocks); 64 is usual",
        "dataset.bucket_step: {value} は 8 の倍数にしてください（VAE は 8 ピクセル単位で処理します）。ふつうは 64 です"),
    "config.resolution_multiple": (
        "dataset.resolution: {value} must be a multiple of 8 (the VAE works in 8-pixel blocks); for example "
        "{example}",
        "dataset.resolution: {value} は 8 の倍数にしてください（VAE は 8 ピクセル単位で処理します）。例: {example}"),
    "config.bad_value": ("{key}: bad value {value!r}", "{key}: {value!r} は使えない値です"),
    "config.expected_list": ("{key}: expected a list, got {value!r}",
                             "{key}: リストを入れてください（入っていた値: {value!r}）"),
    "config.expected_bool": ("{key}: expected true or false, got {value!r}",
                             "{key}: true か false を入れてください（入っていた値: {value!r}）"),
    "config.expected_int": ("{key}: expected a whole number, got {value!r}",
                            "{key}: 整数を入れてください（入っていた値: {value!r}）"),
    "config.not_finite": ("{key}: {value!r} is not a finite number; give an ordinary number such as 1e-4",
                          "{key}: {value!r} は有限の数ではありません。1e-4 のようなふつうの数を入れてください"),
    "config.expected_number": ("{key}: expected a number, got {value!r}",
                               "{key}: 数を入れてください（入っていた値: {value!r}）"),
    "config.expected_text": ("{key}: expected text, got {value!r}",
                             "{key}: 文字列を入れてください（入っていた値: {value!r}）"),
    "config.unsupported_type": ("{key}: unsupported type {type}", "{key}: 型 {type} には対応していません"),
    "config.not_allowed": ("{key}: {value!r} is not allowed; choose one of: {allowed}",
                           "{key}: {value!r} は使えません。次から選んでください: {allowed}"),
    "config.too_small": ("{key}: {value} is too small; it must be at least {lo}",
                         "{key}: {value} は小さすぎます。{lo} 以上にしてください"),
    "config.too_large": ("{key}: {value} is too large; it must be at most {hi}",
                         "{key}: {value} は大きすぎます。{hi} 以下にしてください"),
    "config.expected_mapping": ("{key}: expected a mapping of keys, got {value!r}",
                                "{key}: 「キー: 値」の組を並べてください（入っていた値: {value!r}）"),
    "config.unknown_key": ("unknown key '{key}'; known keys here: {known}",
                           "'{key}' という設定はありません。ここで使える設定: {known}"),
    "config.override_form": ("override '{override}' must look like key=value (for example train.max_train_steps=100)",
                             "上書き '{override}' は キー=値 の形にしてください（例: train.max_train_steps=100）"),
    "config.override_no_key": ("override '{override}' has no key before '='",
                               "上書き '{override}' には '=' の前にキーがありません"),
    "config.not_a_section": ("'{key}': '{part}' is not a section",
                             "'{key}': '{part}' は設定のまとまり（セクション）ではありません"),
    "config.override_not_section": ("override '{override}': '{part}' is not a section",
                                    "上書き '{override}': '{part}' は設定のまとまり（セクション）ではありません"),
    "config.file_missing": ("config file '{path}' not found; pass a YAML file such as configs/quickstart.yaml",
                            "設定ファイル '{path}' が見つかりません。configs/quickstart.yaml のような YAML ファイルを"
                            "指定してください"),
    "config.bad_yaml": ("config file '{path}' is not valid YAML: {detail}",
                        "設定ファイル '{path}' は正しい YAML ではありません（詳細: {detail}）"),
    "config.not_mapping": ("config file '{path}' must hold a mapping of keys at the top level",
                           "設定ファイル '{path}' の一番上は「キー: 値」の組にしてください"),
    "config.bad_version": ("config_version in '{path}': {version!r} is not a version number; remove the line (files "
                           "without it are read as version 1)",
                           "'{path}' の config_version: {version!r} はバージョン番号ではありません。その行を消してください"
                           "（ない場合はバージョン 1 として読みます）"),
    "config.newer_version": ("config file '{path}' was written by a newer lora-studio (config_version {version}; "
                             "this one reads up to {supported}); upgrade lora-studio to use it",
                             "設定ファイル '{path}' は新しい lora-studio で書かれています（config_version {version}。"
                             "この版が読めるのは {supported} まで）。使うには lora-studio を更新してください"),
    # ---- data.py, steps.py: the dataset
    "data.reason_empty": ("is empty (0 bytes)", "は空のファイルです（0 バイト）"),
    "data.reason_bomb": ("refused as a possible decompression bomb ({detail}); downscale it if it is a real picture",
                         "は展開すると巨大になる画像（圧縮爆弾）のおそれがあるので使いません（{detail}）。本物の写真なら"
                         "縮小してください"),
    "data.reason_unreadable": ("is not a readable PNG/JPEG/WebP/BMP image (wrong extension, or a damaged file)",
                               "は読み込める PNG/JPEG/WebP/BMP 画像ではありません（拡張子が違うか、ファイルが壊れています）"),
    "data.reason_truncated": ("is truncated, probably an incomplete download or copy ({detail})",
                              "は途中で切れています。ダウンロードかコピーが終わっていないようです（{detail}）"),
    "data.reason_undecodable": ("cannot be decoded ({kind}: {detail})", "は画像として読み込めません（{kind}: {detail}）"),
    "data.reason_too_small": ("is too small to train on ({width}x{height}; each side needs at least bucket_step={step} "
                              "px)",
                              "は学習には小さすぎます（{width}x{height}。縦横とも bucket_step={step} px 以上が必要です）"),
    "data.bad_image": ("image '{path}' {reason}", "画像 '{path}' {reason}"),
    "data.ignored_type": ("ignored '{name}': {suffix} is not trained on; save it as PNG or JPEG to use it",
                          "'{name}' は使われません。{suffix} は学習に使えないので、使うなら PNG か JPEG で保存してください"),
    "data.ignored_folder": ("ignored folder '{folder}': name it like '{like}' to train its images 10 times per epoch",
                            "フォルダー '{folder}' の画像は使われません。1 エポックに 10 回ずつ学習させるなら、"
                            "'{like}' のような名前にしてください"),
    "data.no_caption": ("no caption for '{name}' (expected {expected}): it is trained with the trigger word only",
                        "'{name}' にはタグファイル（{expected}）がないので、トリガーワードだけで学習します"),
    "data.caption_unreadable": ("caption '{caption}' cannot be read ({detail}): '{name}' is trained with the trigger "
                                "word only",
                                "タグファイル '{caption}' が読めません（{detail}）。'{name}' はトリガーワードだけで学習します"),
    "data.caption_not_utf8": ("caption '{caption}' is not UTF-8; unreadable characters were replaced",
                              "タグファイル '{caption}' は UTF-8 ではありません。読めない文字は置き換えました"),
    "data.caption_empty": ("caption '{caption}' is empty: '{name}' is trained with the trigger word only",
                           "タグファイル '{caption}' が空なので、'{name}' はトリガーワードだけで学習します"),
    "data.folder_missing": ("dataset.path: folder '{path}' not found; point it at a folder of images with .txt tag "
                            "files",
                            "dataset.path: フォルダー '{path}' が見つかりません。画像と .txt タグファイルのあるフォルダーを"
                            "指定してください"),
    "data.folder_unlistable": ("dataset.path: folder '{path}' cannot be listed ({detail})",
                               "dataset.path: フォルダー '{path}' の中身を読めません（{detail}）"),
    "data.strict_bad_image": ("dataset '{path}': image '{name}' {reason}. Fix or remove it, or set dataset.strict=false "
                              "to skip bad images with a warning",
                              "データセット '{path}': 画像 '{name}' {reason}。直すか取り除いてください。"
                              "dataset.strict=false にすると、問題のある画像は注意を出して飛ばします"),
    "data.skipped": ("skipped '{name}': {reason}", "'{name}' {reason}。スキップしました"),
    "data.no_images_why": ("dataset '{path}' has no usable images ({exts}): {details}{more}",
                           "データセット '{path}' には学習に使える画像（{exts}）がありません: {details}{more}"),
    "data.no_images": ("dataset '{path}' has no usable images ({exts}); add pictures with .txt tag files",
                       "データセット '{path}' には学習に使える画像（{exts}）がありません。画像と .txt タグファイルを"
                       "入れてください"),
    "data.too_few_images": ("dataset '{path}' gives no full step: {images} images are too few for "
                            "train.batch_size={batch} x train.gradient_accumulation_steps={accumulation} x {processes} "
                            "processes; lower them or add images/repeats",
                            "データセット '{path}' では 1 ステップ分もそろいません: 画像 {images} 枚は "
                            "train.batch_size={batch} × train.gradient_accumulation_steps={accumulation} × "
                            "{processes} プロセスに足りません。これらを下げるか、画像か繰り返し回数を増やしてください"),
    # ---- models.py: the base model
    "models.tiny_note": ("base 'tiny' is a random offline test model: its images are noise, it only proves the flow "
                         "works",
                         "ベース 'tiny' はランダムなオフラインのテスト用モデルです。画像はノイズになり、流れが動くことを"
                         "確かめるだけのものです"),
    "models.offline": ("could not load base model '{base}': it is not in the local Hugging Face cache and cannot be "
                       "downloaded here ({kind}). Download it once on a machine with internet, point 'base' at a local "
                       "diffusers folder or a single .safetensors checkpoint, or use base=tiny to try the flow offline.",
                       "ベースモデル '{base}' を読み込めませんでした。Hugging Face のキャッシュになく、ここからは"
                       "ダウンロードもできません（{kind}）。インターネットにつながるコンピューターで一度ダウンロードするか、"
                       "'base' にローカルの diffusers フォルダーか .safetensors ファイルを指定してください。"
                       "オフラインで流れだけ試すなら base=tiny にします。"),
    "models.base_empty": ("'base' is empty; give a hub id, a local folder, a .safetensors file, or tiny / tiny-sdxl",
                          "'base' が空です。Hub ID、ローカルのフォルダー、.safetensors ファイル、または tiny / "
                          "tiny-sdxl を指定してください"),
    "models.no_model_index": ("base folder '{path}' has no model_index.json; it must be a diffusers pipeline folder "
                              "(or pass a single .safetensors checkpoint file)",
                              "ベースのフォルダー '{path}' に model_index.json がありません。diffusers のパイプラインの"
                              "フォルダーを指定してください（または .safetensors のチェックポイントファイル 1 つ）"),
    "models.checkpoint_missing": ("base checkpoint '{path}' does not exist; check the path",
                                  "ベースのチェックポイント '{path}' がありません。パスを確かめてください"),
    "models.pickle": ("base '{path}' is a pickle checkpoint, which can run code when loaded. Convert it to "
                      ".safetensors, or set allow_pickle: true if you trust the file.",
                      "ベース '{path}' は pickle 形式のチェックポイントで、読み込むとプログラムを実行できてしまいます。"
                      ".safetensors に変換するか、信頼できるファイルなら allow_pickle: true にしてください。"),
    "models.unknown_base": ("base '{base}' is neither an existing folder, a checkpoint file, a hub id (owner/name), "
                            "nor 'tiny' / 'tiny-sdxl'",
                            "ベース '{base}' は、あるフォルダーでも、チェックポイントファイルでも、Hub ID（owner/name）"
                            "でも 'tiny' / 'tiny-sdxl' でもありません"),
    "models.single_file_failed": ("could not load single-file checkpoint '{path}' ({family}): {detail}. diffusers needs "
                                  "the small config files (json and tokenizer files, no weights) of '{repo}' once: "
                                  "with internet they are fetched by themselves; offline, run `huggingface-cli "
                                  "download {repo} --exclude '*.safetensors' '*.bin' '*.ckpt' '*.onnx*' '*.msgpack'` "
                                  "on a machine with internet and copy its Hugging Face cache here, or convert the "
                                  "checkpoint to a diffusers folder.",
                                  "チェックポイント '{path}'（{family}）を読み込めませんでした（{detail}）。diffusers には "
                                  "'{repo}' の小さな設定ファイル（json とトークナイザーのファイル。重みは不要）が一度"
                                  "必要です。インターネットがあれば自動で取得します。オフラインなら、インターネットに"
                                  "つながるコンピューターで `huggingface-cli download {repo} --exclude '*.safetensors' "
                                  "'*.bin' '*.ckpt' '*.onnx*' '*.msgpack'` を実行して Hugging Face のキャッシュをここへ"
                                  "コピーするか、チェックポイントを diffusers のフォルダーに変換してください。"),
    # ---- lora.py: adapters
    "lora.bad_targets": ("lora.targets: {value!r} is not allowed; choose one of: {allowed}",
                         "lora.targets: {value!r} は使えません。次から選んでください: {allowed}"),
    "lora.no_target_blocks": ("lora.targets '{value}': the UNet has no attention blocks with {suffixes}; is the base "
                              "a Stable Diffusion 1.x/2.x model?",
                              "lora.targets '{value}': UNet に {suffixes} のアテンションブロックがありません。"
                              "ベースは Stable Diffusion 1.x/2.x のモデルですか？"),
    "lora.no_adapter": ("the UNet carries no LoRA adapter; call add_lora first",
                        "UNet に LoRA アダプターがありません。先に add_lora を呼んでください"),
    "lora.adapter_mismatch": ("the saved adapter does not fit this UNet ({missing} missing keys, e.g. {missing_example}; "
                              "{unexpected} unexpected, e.g. {unexpected_example}); were rank or targets changed since "
                              "it was saved?",
                              "保存されたアダプターがこの UNet に合いません（足りないキー {missing} 個、例 "
                              "{missing_example}。余分なキー {unexpected} 個、例 {unexpected_example}）。保存したあとで "
                              "rank か targets を変えましたか？"),
    "lora.weight_shape": ("adapter weight {key} has shape {shape} but the UNet expects {expected}; was lora.rank "
                          "changed since it was saved?",
                          "アダプターの重み {key} の形は {shape} ですが、UNet には {expected} が必要です。保存したあとで "
                          "lora.rank を変えましたか？"),
    "lora.not_plain": ("kohya key '{key}' is not a plain LoRA weight (LoHa/LoKr/DoRA files are not supported)",
                       "kohya のキー '{key}' はふつうの LoRA の重みではありません（LoHa/LoKr/DoRA のファイルには"
                       "対応していません）"),
    "lora.file_missing": ("LoRA file '{path}' does not exist", "LoRA ファイル '{path}' がありません"),
    "lora.file_unreadable": ("LoRA file '{path}' is not a readable .safetensors file: {detail}",
                             "LoRA ファイル '{path}' は読み込める .safetensors ファイルではありません（{detail}）"),
    "lora.no_unet_weights": ("LoRA file '{path}' holds no UNet LoRA weights (neither kohya nor diffusers keys)",
                             "LoRA ファイル '{path}' には UNet の LoRA の重みがありません（kohya 形式のキーも diffusers "
                             "形式のキーもありません）"),
    "lora.bad_save_dtype": ("save_dtype {value!r} is not allowed; choose one of: {allowed}",
                            "save_dtype {value!r} は使えません。次から選んでください: {allowed}"),
    # ---- generate.py: making pictures
    "generate.unknown_sampler": ("sampler {value!r} is unknown; choose one of: {allowed}",
                                 "サンプラー {value!r} はありません。次から選んでください: {allowed}"),
    "generate.size_multiple": ("{key} {value} must be a positive multiple of 8 (for example 512)",
                               "{key} {value} は 8 の倍数の正の数にしてください（例: 512）"),
    "generate.steps_min": ("steps {value} must be at least 1", "steps {value} は 1 以上にしてください"),
    "generate.batch_min": ("batch_size {value} must be at least 1", "batch_size {value} は 1 以上にしてください"),
    "generate.guidance_negative": ("guidance_scale {value} must not be negative",
                                   "guidance_scale {value} は負の数にできません"),
    "generate.bad_seed": ("seed {value} must be -1 (random) or a whole number from 0 up",
                          "seed {value} は -1（ランダム）か 0 以上の整数にしてください"),
    "generate.strength_not_number": ("LoRA '{spec}': the strength after ':' must be a number, e.g. {path}:0.8",
                                     "LoRA '{spec}': ':' のあとの強さは数にしてください（例: {path}:0.8）"),
    "generate.strength_not_finite": ("LoRA '{spec}': the strength must be an ordinary number, e.g. 0.8",
                                     "LoRA '{spec}': 強さはふつうの数にしてください（例: 0.8）"),
    "generate.lora_missing": ("LoRA file '{path}' does not exist; pass a .safetensors adapter, e.g. "
                              "outputs/my-lora/my-lora.safetensors[:0.8]",
                              "LoRA ファイル '{path}' がありません。.safetensors のアダプターを指定してください"
                              "（例: outputs/my-lora/my-lora.safetensors[:0.8]）"),
    "generate.lora_not_safetensors": ("LoRA file '{path}' is not a .safetensors file; only safetensors adapters are "
                                      "loaded",
                                      "LoRA ファイル '{path}' は .safetensors ファイルではありません。読み込むのは "
                                      "safetensors のアダプターだけです"),
    "generate.lora_load_failed": ("could not load LoRA '{path}' into the base ({family}): {detail}. Is it a LoRA for "
                                  "this base's family in kohya or diffusers format?",
                                  "LoRA '{path}' をベース（{family}）に読み込めませんでした（{detail}）。このベースの系統"
                                  "用の、kohya 形式か diffusers 形式の LoRA ですか？"),
    # ---- atomic.py, checkpoints.py, runlog.py, training_setup.py, train.py: writing a run
    "io.failure": ("{failure}", "{failure}"),  # a write failure on its own (text: io.write_failed*)
    "io.write_failed": ("could not write {what} '{path}': {advice}", "{what} '{path}' を書き込めませんでした: {advice}"),
    "io.write_failed_detail": ("could not write {what} '{path}' ({detail}): check that the disk has free space and "
                               "the folder is writable",
                               "{what} '{path}' を書き込めませんでした（{detail}）。ディスクに空きがあり、フォルダーに"
                               "書き込めるか確かめてください"),
    "io.advice_disk_full": ("the disk is full; free some space", "ディスクがいっぱいです。空きを作ってください"),
    "io.advice_quota": ("the disk quota is used up; free some space",
                        "ディスクの割り当て（クォータ）を使い切りました。空きを作ってください"),
    "io.advice_permission": ("permission denied; make the folder writable or choose another output_dir",
                             "書き込む権限がありません。フォルダーを書き込めるようにするか、別の output_dir を選んでください"),
    "io.advice_read_only": ("the file system is read-only; choose another output_dir",
                            "読み取り専用のファイルシステムです。別の output_dir を選んでください"),
    "io.advice_not_folder": ("part of the path is a file, not a folder; choose another output_dir",
                             "パスの途中がフォルダーではなくファイルです。別の output_dir を選んでください"),
    "io.what_checkpoint": ("the checkpoint", "チェックポイント"),
    "io.what_sample": ("a sample image", "サンプル画像"),
    "io.what_adapter": ("the adapter", "アダプター"),
    "io.what_status": ("the run status", "実行の状態ファイル"),
    "io.what_loss_log": ("the loss log", "損失の記録"),
    "io.what_run_folder": ("the run folder (output_dir)", "実行フォルダー（output_dir）"),
    "io.what_run_file": ("a file of the run", "実行のファイル"),
    "train.write_failed_resume": ("{failure}; then resume with train.resume=latest",
                                  "{failure}。直したら train.resume=latest で再開してください"),
    "train.write_failed_kept": ("{failure}. Checkpoints already saved are kept; resume with train.resume=latest once "
                                "the problem is fixed",
                                "{failure}。保存済みのチェックポイントは残っています。問題を直したら train.resume=latest で"
                                "再開してください"),
    "train.checkpoint_write_failed": ("{failure}. The earlier checkpoints are kept; resume with train.resume=latest "
                                      "once the problem is fixed",
                                      "{failure}。前のチェックポイントは残っています。問題を直したら train.resume=latest "
                                      "で再開してください"),
    "train.adapter_write_failed": ("{failure}. The previous adapter file (if any) and the checkpoints are unchanged; "
                                   "resume with train.resume=latest once the problem is fixed",
                                   "{failure}。前のアダプターのファイル（あれば）とチェックポイントはそのままです。"
                                   "問題を直したら train.resume=latest で再開してください"),
    "train.resume_not_checkpoint": ("train.resume: '{resume}' is not a finished checkpoint folder (no {state}); use "
                                    "'latest' or a folder under {folder}",
                                    "train.resume: '{resume}' は保存の終わったチェックポイントのフォルダーではありません"
                                    "（{state} がありません）。'latest' か {folder} の中のフォルダーを指定してください"),
    "train.resume_other_lora": ("train.resume: checkpoint '{checkpoint}' was made with other lora settings "
                                "(lora.{key}={saved!r}; this config says lora.{key}={current!r}); resume with the "
                                "run's own config.yaml, or start a new run (another name or output_dir)",
                                "train.resume: チェックポイント '{checkpoint}' は別の lora 設定で作られています"
                                "（lora.{key}={saved!r}。この設定では lora.{key}={current!r}）。その実行の config.yaml "
                                "で再開するか、新しい実行（別の name か output_dir）を始めてください"),
    "train.resume_other_shapes": ("train.resume: checkpoint '{checkpoint}' was made with other lora settings ({count} "
                                  "adapter weights missing or of another shape, e.g. {example}); resume with the run's "
                                  "own config.yaml, or start a new run",
                                  "train.resume: チェックポイント '{checkpoint}' は別の lora 設定で作られています"
                                  "（アダプターの重み {count} 個がないか形が違います。例: {example}）。その実行の "
                                  "config.yaml で再開するか、新しい実行を始めてください"),
    "train.nonfinite_weights": ("the adapter's weights became NaN or infinite by step {step}, so they were not saved "
                                "over the last good adapter or checkpoint. Try train.mixed_precision=bf16 instead of "
                                "fp16, a lower train.learning_rate (e.g. half), or train.max_grad_norm=1.0; then resume "
                                "with train.resume=latest.",
                                "ステップ {step} までにアダプターの重みが NaN か無限大になったので、最後の正常なアダプターや"
                                "チェックポイントには上書きしませんでした。train.mixed_precision を fp16 から bf16 に"
                                "する、train.learning_rate を下げる（例: 半分）、train.max_grad_norm=1.0 にする、の"
                                "どれかを試してから、train.resume=latest で再開してください。"),
    "train.nan_loss": ("the loss became NaN or infinite at step {step}. The adapter was not saved over the last good "
                       "one. Try train.mixed_precision=bf16 instead of fp16, a lower train.learning_rate (e.g. half), "
                       "or train.max_grad_norm=1.0; then resume with train.resume=latest.",
                       "ステップ {step} で損失が NaN か無限大になりました。アダプターは最後の正常なものに上書きして"
                       "いません。train.mixed_precision を fp16 から bf16 にする、train.learning_rate を下げる"
                       "（例: 半分）、train.max_grad_norm=1.0 にする、のどれかを試してから、train.resume=latest で"
                       "再開してください。"),
    "train.oom_outside_step": ("the GPU ran out of memory outside a training step (while caching latents or making "
                               "sample images). Lower dataset.resolution (samples use it too) or train.batch_size, "
                               "close other programs using the GPU, or set train.gradient_checkpointing=true; then "
                               "resume with train.resume=latest.",
                               "学習ステップの外（潜在表現のキャッシュ作成かサンプル画像の生成中）で GPU のメモリが"
                               "足りなくなりました。dataset.resolution（サンプルにも使います）か train.batch_size を"
                               "下げる、GPU を使うほかのプログラムを閉じる、train.gradient_checkpointing=true にする、"
                               "のどれかをしてから、train.resume=latest で再開してください。"),
    "train.oom": ("the GPU ran out of memory at step {step}. A checkpoint was saved. Lower train.batch_size, lower "
                  "dataset.resolution (e.g. 512), or set train.gradient_checkpointing=true (and "
                  "train.optimizer=adamw8bit if bitsandbytes is installed); then resume with train.resume=latest.",
                  "ステップ {step} で GPU のメモリが足りなくなりました。チェックポイントは保存しました。"
                  "train.batch_size を下げる、dataset.resolution を下げる（例: 512）、"
                  "train.gradient_checkpointing=true にする（bitsandbytes があれば train.optimizer=adamw8bit も）、"
                  "のどれかをしてから、train.resume=latest で再開してください。"),
    "train.needs_tensorboard": ("train.tensorboard: true needs the tensorboard package; pip install tensorboard, or "
                                "set train.tensorboard=false",
                                "train.tensorboard: true には tensorboard パッケージが必要です。pip install tensorboard "
                                "するか、train.tensorboard=false にしてください"),
    "train.needs_bitsandbytes": ("train.optimizer=adamw8bit needs bitsandbytes (pip install bitsandbytes, CUDA only); "
                                 "or use train.optimizer=adamw",
                                 "train.optimizer=adamw8bit には bitsandbytes が必要です（pip install bitsandbytes、"
                                 "CUDA のみ）。または train.optimizer=adamw を使ってください"),
    "train.loading_base": ("loading the base model", "ベースモデルを読み込み中"),
    "train.saved": ("adapter saved to {adapter}", "アダプターを {adapter} に保存しました"),
    "train.stopped": ("stopped; resume with train.resume=latest", "停止しました。train.resume=latest で再開できます"),
    # ---- jobs.py: the studio's training processes
    "jobs.busy": ("a training is already running (run '{name}', process {pid}); stop it or wait until it finishes, "
                  "then start again",
                  "学習 '{name}' がすでに実行中です（プロセス {pid}）。止めるか終わるのを待ってから、もう一度開始してください"),
    "jobs.starting": ("a training is starting right now; wait a moment and look at the Train tab",
                      "いま学習を始めているところです。少し待ってから「学習」タブを見てください"),
    "jobs.bad_run_name": ("run name '{name}' is not allowed: use a plain name like my-lora (letters, digits, '-', "
                          "'_', '.'); every run is a folder in {outputs}",
                          "実行名 '{name}' は使えません。my-lora のような名前（英数字と '-'・'_'・'.'）にしてください。"
                          "実行はどれも {outputs} の中のフォルダーになります"),
    "jobs.output_dir_fixed": ("output_dir '{output_dir}': the studio keeps runs in {outputs}/<name>",
                              "output_dir '{output_dir}': スタジオでは実行を {outputs}/<name> に置きます"),
    "jobs.run_exists": ("run '{name}' already exists in {outputs}; pick another name, or resume it",
                        "実行 '{name}' は {outputs} にもうあります。別の名前にするか、その実行を再開してください"),
    "jobs.no_config": ("run '{name}' has no config.yaml, so it cannot be resumed",
                       "実行 '{name}' には config.yaml がないので、再開できません"),
    "jobs.already_finished": ("run '{name}' already finished; start a new run to train more",
                              "実行 '{name}' はもう完了しています。さらに学習するなら新しく開始してください"),
    "jobs.no_runs": ("there is no training run yet; start one in the Train tab",
                     "学習の実行はまだありません。「学習」タブで開始してください"),
    "jobs.run_not_found": ("run '{run}' not found in {outputs}", "実行 '{run}' が {outputs} に見つかりません"),
    "jobs.nothing_to_stop": ("no training is running, so there is nothing to stop",
                             "実行中の学習はないので、止めるものはありません"),
    "jobs.exited": ("the trainer exited without finishing; see {log}",
                    "学習のプロセスが終わらないまま止まりました。{log} を見てください"),
    "jobs.not_started": ("the trainer did not start; see {log}", "学習のプロセスが始まりませんでした。{log} を見てください"),
}

CORE |= LESSON_ERRORS | TAGGER_ERRORS | SDXL_ERRORS | COMPARE_ERRORS | CONSOLE  # text/lesson_errors.py, tagging.py, sdxl.py,
# compare.py, console.py
