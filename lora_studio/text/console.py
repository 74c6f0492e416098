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
