"""SDXL's texts, by key: `{key: (english, japanese)}`. SDXL_ERRORS are the library's errors and notes (families.py,
models.py, generate.py, train.py; part of CORE); SDXL_STUDIO the studio's presets and base notes (part of STUDIO)."""

from __future__ import annotations

SDXL_ERRORS: dict[str, tuple[str, str]] = {
    # ---- models.py, families.py: SDXL bases and single-file checkpoints
    "models.tiny_sdxl_note": ("base 'tiny-sdxl' is a random offline SDXL-shaped test model: its images are noise, it "
                              "only proves the SDXL flow works",
                              "ベース 'tiny-sdxl' は SDXL の形をしたランダムなオフラインのテスト用モデルです。画像は"
                              "ノイズになり、SDXL の流れが動くことを確かめるためだけのものです"),
    "families.unknown_checkpoint": ("{source} is not a Stable Diffusion 1.x, 2.x or SDXL checkpoint (none of their "
                                    "text encoder keys are in it); lora-studio trains these families only",
                                    "{source} は Stable Diffusion 1.x・2.x・SDXL のチェックポイントではありません（どの"
                                    "テキストエンコーダーのキーも入っていません）。lora-studio が学習できるのはこれらの"
                                    "系統だけです"),
    "families.the_checkpoint": ("the checkpoint", "このチェックポイント"),
    "families.base_checkpoint": ("base checkpoint '{path}'", "ベースのチェックポイント '{path}'"),
    "families.checkpoint_unreadable": ("base checkpoint '{path}' is not a readable .safetensors file: {detail}",
                                       "ベースのチェックポイント '{path}' は読み込める .safetensors ファイルではありません"
                                       "（{detail}）"),
    # ---- train.py: a resolution below the family's native size
    "train.resolution_below_native": ("dataset.resolution={resolution} is below this {family} base's native "
                                      "{native} px: pictures train smaller than it draws; set "
                                      "dataset.resolution={native} (the {presets} presets do)",
                                      "dataset.resolution={resolution} は、この {family} のベース本来の {native} px "
                                      "より小さいため、描く大きさより小さい画像で学習します。dataset.resolution={native} "
                                      "にしてください（{presets}のプリセットはそうなっています）"),
    "train.presets_sdxl": ("SDXL", "SDXL 用"),
    "train.presets_character": ("character", "キャラクター用"),
}

SDXL_STUDIO: dict[str, tuple[str, str]] = {
    # ---- train_form.py, train_tab.py: SDXL presets and what the typed base is
    "preset_quickstart-sdxl": ("quick test SDXL (tiny-sdxl, offline)", "お試し SDXL（tiny-sdxl・オフライン）"),
    "preset_character-sdxl-12gb": ("character SDXL, 12 GB GPU", "キャラクター SDXL（12 GB の GPU）"),
    "preset_character-sdxl-8gb": ("character SDXL, 8 GB GPU", "キャラクター SDXL（8 GB の GPU）"),
    "base_family_note": ("Detected: **{family}** base, native {resolution} px, {prediction}.",
                         "検出: **{family}** のベース、本来の解像度 {resolution} px、{prediction}。"),
    "base_sdxl_hint": ("Pick an SDXL preset (12 GB or 8 GB) so pictures train at 1024 px.",
                       "1024 px で学習するよう、SDXL のプリセット（12 GB か 8 GB）を選んでください。"),
    "prediction_epsilon": ("noise prediction", "ノイズ予測（epsilon）"),
    "prediction_v_prediction": ("v-prediction", "v 予測（v-prediction）"),
}
