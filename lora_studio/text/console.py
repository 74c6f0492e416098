"""What the command line prints besides errors (lora-studio tag, compare, sample-dataset), by key:
`{key: (english, japanese)}`; part of core's table. The language: lora_studio/console.py."""

from __future__ import annotations

CONSOLE: dict[str, tuple[str, str]] = {
    "console.error": ("error: {message}", "エラー: {message}"),  # launch.py finds a trainer's message by them
    "console.warning": ("warning: {message}", "警告: {message}"),
    "console.note": ("note: {message}", "注意: {message}"),
    "console.interrupted": ("interrupted", "中断しました"),
    "console.bad_lang": ("LORA_STUDIO_LANG={value!r} is not a language of lora-studio; set it to en or ja (or unset "
                         "it to follow the system's language)",
                         "LORA_STUDIO_LANG={value!r} は lora-studio の言語ではありません。en か ja にしてください"
                         "（外すとシステムの言語に従います）"),
    "console.out_of_memory": (
        "out of memory ({detail}). Use a smaller size or batch (--width/--height/--batch-size; lesson: "
        "data.batch_size), or close other programs using the GPU",
        "メモリが足りません（{detail}）。サイズかバッチを小さくするか（--width/--height/--batch-size、レッスンでは "
        "data.batch_size）、GPU を使っているほかのプログラムを閉じてください"),
    "console.no_details": ("no details", "詳細なし"),
    "console.sample_written": ("sample dataset written to {folder}", "サンプルデータセットを {folder} に書き出しました"),
    "console.sample_written_trigger": ("sample dataset written to {folder} (trigger word: {trigger})",
                                       "サンプルデータセットを {folder} に書き出しました（トリガーワード: {trigger}）"),
    "console.sample_drawn": ("drew the sample dataset into {folder}", "サンプルデータセットを {folder} に描きました"),
    # ---- what the trainer logs (train.py, training_setup.py, steps.py, fast_step.py)
    "log.process_ready": ("process {index} of {count} ready on {device}",
                          "プロセス {index}（全 {count} 個）が {device} で準備できました"),
    "log.progress": ("training", "学習中"),
    "log.plan": ("{images} images with repeats = {samples} samples / batch {batch}{procs}{accum} = {per_epoch} steps per "
                 "epoch; {length}",
                 "画像 {images} 枚（繰り返し込み {samples} サンプル）/ バッチ {batch}{procs}{accum} = 1 エポック {per_epoch} "
                 "ステップ。{length}"),
    "log.plan_procs": (" / {n} processes", " / {n} プロセス"),
    "log.plan_accum": (" / accumulation {n}", " / 勾配累積 {n}"),
    "log.plan_length": ("{epochs} epochs = {total} steps", "{epochs} エポック = {total} ステップ"),
    "log.plan_early": ("train.max_train_steps ends the run early, at step {total} (in epoch {epochs}, which would end "
                       "at step {full})",
                       "train.max_train_steps により、ステップ {total} で早めに終わります（エポック {epochs} の途中。"
                       "エポックの終わりはステップ {full}）"),
    "log.base_family": ("base family: {label} ({prediction}{ztsnr})", "ベースの系統: {label}（{prediction}{ztsnr}）"),
    "log.ztsnr": (", zero terminal SNR", "、終端 SNR ゼロ（zero terminal SNR）"),
    "log.cached": ("cached {n} latents ({reused} reused from disk); text embeddings {embeddings}",
                   "潜在表現 {n} 個をキャッシュしました（ディスクから再利用 {reused} 個）。テキスト埋め込みは{embeddings}"),
    "log.embeddings_cached": ("cached", "キャッシュ済み"),
    "log.embeddings_each_step": ("encoded each step (tags are shuffled)", "毎ステップ計算します（タグをシャッフルするため）"),
    "log.step_eager": ("training step: eager ({reason})", "学習ステップ: 通常実行（{reason}）"),
    "log.no_cuda": ("no CUDA GPU", "CUDA の GPU がありません"),
    "fast.processes": ("{n} processes (the graph path is single-process)",
                       "{n} プロセス（グラフ実行は 1 プロセスのときだけです）"),
    "fast.accumulation": ("train.gradient_accumulation_steps > 1", "train.gradient_accumulation_steps が 1 より大きい"),
    "fast.fp16": ("train.mixed_precision=fp16 (its loss scaler reads the GPU every step; bf16 does not need one)",
                  "train.mixed_precision=fp16（損失スケーラーが毎ステップ GPU を読みます。bf16 なら不要です）"),
    "fast.dropout": ("lora.dropout > 0 (its masks would come from the graph's own random stream)",
                     "lora.dropout が 0 より大きい（マスクがグラフ専用の乱数列から作られてしまいます）"),
    "fast.optimizer": ("train.optimizer={optimizer} (the graph path needs torch's fused AdamW)",
                       "train.optimizer={optimizer}（グラフ実行には torch の fused AdamW が必要です）"),
    "fast.not_fused": ("the AdamW optimizer is not the fused one", "AdamW が fused 版ではありません"),
    "fast.scaler": ("the optimizer already carries a gradient scaler", "オプティマイザーにすでに勾配スケーラーが付いています"),
    "fast.unknown_mode": ("train.fast_step={mode!r} is unknown; choose one of {modes}",
                          "train.fast_step={mode!r} は使えません。次から選んでください: {modes}"),
    "log.finished": ("finished: {message}{samples}", "完了: {message}{samples}"),
    "log.stopped": ("stopped: {message}{samples}", "停止: {message}{samples}"),
    "log.samples_in": (" (samples in {folder})", "（サンプル画像: {folder}）"),
    "log.try_it": ('try it: lora-studio generate --base {base} --lora {adapter} --prompt "{prompt}"',
                   '試すには: lora-studio generate --base {base} --lora {adapter} --prompt "{prompt}"'),
    # ---- lora-studio compare
    "console.rendering_row": ("rendering row {row}", "{row} 行目を描いています"),
    "console.compare_done": ("grid: {grid}\nscores: {scores}\n{suggestion}",
                             "グリッド: {grid}\nスコア: {scores}\n{suggestion}"),
    # ---- lora-studio tag
    "console.prune_why": (
        "These tags describe the character itself and are on most pictures. They compete with the trigger word: "
        "trained with them, the LoRA draws the character only when they are typed too. Remove them so the trigger "
        "word carries the look:",
        "これらのタグはキャラクターそのものを表し、ほとんどの画像に付いています。トリガーワードと競合するため、"
        "付けたまま学習すると、LoRA はこれらのタグも入力したときにしかキャラクターを描きません。取り除いて、"
        "トリガーワードに見た目を担わせましょう:"),
    "console.prune_line": ("  {tag:<28} {count} of {total} pictures ({kind})",
                           "  {tag:<28} {total} 枚中 {count} 枚（{kind}）"),
    "console.prune_how": ('remove them with: lora-studio tag {folder} --remove "{names}"',
                          '取り除くには: lora-studio tag {folder} --remove "{names}"'),
    "console.tags_restored": ("restored the tags of {n} picture(s) in {folder}",
                              "{folder} の {n} 枚の画像のタグを元に戻しました"),
    "console.tags_removed": ("removed from {n} caption(s); undo with: lora-studio tag {folder} --restore",
                             "{n} 個のキャプションから取り除きました。元に戻すには: lora-studio tag {folder} --restore"),
    "console.tagged": ("tagged {tagged} of {pictures} picture(s) with {tagger} on {device}; {changed} caption file(s) "
                       "written",
                       "{tagger}（{device}）で {pictures} 枚中 {tagged} 枚にタグを付け、{changed} 個のキャプション"
                       "ファイルを書きました"),
    "console.tagged_undo": ("; undo with: lora-studio tag {folder} --restore",
                            "。元に戻すには: lora-studio tag {folder} --restore"),
}
