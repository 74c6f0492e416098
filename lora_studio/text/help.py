"""The training settings' one-line explanations: the English ones are the fields' `help` in config.py (next to the
setting they explain), the Japanese ones are here. `help_texts()` pairs them as `{help_key(setting): (english,
japanese)}`, the shape of every other text table.

tests/test_text.py checks that every TrainConfig field has one here, so a new setting cannot ship untranslated.
"""

from __future__ import annotations

import functools

HELP_JA = {
    "name": "実行名。アダプターは outputs/<name>/<name>.safetensors に保存されます。",
    "base": "Hub の ID、ローカルの diffusers フォルダー、単一の .safetensors、または 'tiny'（オフラインのテスト用モデル）。",
    "allow_pickle": "pickle 形式の .ckpt ベースを許可します（コードを実行できるため、信頼できるファイルだけに）。",
    "output_dir": "実行フォルダー（既定は outputs/<name>）。",
    "dataset.path": "画像と .txt タグファイルのフォルダー（kohya 式の '10_name' サブフォルダーで繰り返し回数を指定）。",
    "dataset.trigger_word": "すべてのキャプションの先頭に置く単語。プロンプトに入れるとキャラクターを呼び出せます。",
    "dataset.resolution": "学習する一辺のピクセル数。バケットはおよそこの画素数を保ちます。",
    "dataset.repeats": "1 エポックで各画像を何回使うか（'N_name' フォルダーが優先）。",
    "dataset.shuffle_tags": "毎ステップでタグの順番を混ぜ、LoRA が順番を覚えないようにします。",
    "dataset.keep_tokens": "シャッフルしても先頭に残すタグの数（トリガーワード）。",
    "dataset.caption_dropout": "キャプションを空にして学習する確率（タグなしのプロンプトにも効くように）。",
    "dataset.tag_dropout": "シャッフルした各タグを落とす確率。",
    "dataset.flip": "ランダムな左右反転（キャラクターは左右非対称なことが多いので既定はオフ）。",
    "dataset.buckets": "正方形に切り抜かず、縦横比ごとに画像をまとめます。",
    "dataset.bucket_step": "バケットの辺はこのピクセル数の倍数になります。",
    "dataset.strict": "壊れた画像を警告して飛ばす代わりに、学習を止めます。",
    "dataset.cache": "VAE の潜在表現とテキスト埋め込みを置く場所。",
    "lora.rank": "アダプターの大きさ。キャラクターなら 8〜32 が目安です。",
    "lora.alpha": "スケールの分子。更新量に alpha / rank が掛かります（0 は何も学習しないので受け付けません。"
                  "kohya の「alpha = rank」は lora.alpha を lora.rank と同じにすることです）。",
    "lora.targets": "'default': proj と ff を含む attention ブロック（kohya 式）、'attn': q/k/v/out のみ。",
    "lora.dropout": "アダプター内部のドロップアウト。",
    "train.batch_size": "1 ステップで使う画像の枚数。",
    "train.epochs": "データセットを何周するか（max_train_steps を指定した場合は無視）。",
    "train.max_train_steps": "この回数のステップで学習を終えます。",
    "train.learning_rate": "アダプターの学習率。1e-4 が安全な出発点です。",
    "train.lr_scheduler": "学習率のスケジュール。",
    "train.lr_warmup_steps": "学習率を 0 から上げていくステップ数。",
    "train.optimizer": "'adamw8bit' は bitsandbytes が必要で、メモリを節約します。",
    "train.weight_decay": "AdamW の重み減衰。",
    "train.max_grad_norm": "勾配をこのノルムで切り詰めます（0 で無効）。",
    "train.gradient_accumulation_steps": "この数のバッチの勾配を足し合わせて 1 ステップにします。",
    "train.gradient_checkpointing": "途中の計算を再計算します。メモリは減り、ステップは遅くなります。",
    "train.mixed_precision": "GPU ではベースの重みを bf16/fp16 に。アダプターは fp32 のままです。",
    "train.prediction_type": "空欄ならベースモデルの設定を使います（SD2 768 は v_prediction）。",
    "train.zero_terminal_snr": "ノイズの予定を最後の段階が完全なノイズになるよう調整します（kohya の --zero_terminal_snr）。"
                               "空欄ならベースに従います（NoobAI-XL V-Pred のような v 予測の SDXL ではオン）。",
    "train.min_snr_gamma": "Min-SNR による損失の重み付け（論文の値は 5、空欄で無効）。",
    "train.noise_offset": "暗い／明るい画像のためのオフセットノイズ（0.05〜0.1）。",
    "train.seed": "同じシードなら同じ学習になります。",
    "train.checkpoint_every_n_steps": "N ステップごとに再開用チェックポイントを保存（0 なら保存しない。停止ボタンでは必ず保存）。",
    "train.checkpoints_total_limit": "残すチェックポイントの数。",
    "train.save_every_n_epochs": "N エポックごとにもアダプターを <name>-000004.safetensors（kohya と同じ名前）として保存し、"
                                 "lora-studio compare で一番良いものを選べるようにします（0 なら最後のアダプターだけ）。",
    "train.save_every_n_steps": "N ステップごとにもアダプターを <name>-step00000400.safetensors として保存します（0 なら保存しない）。",
    "train.keep_n_adapters": "途中のアダプターを新しいほうから N 個だけ残します（0 ならすべて）。最後のアダプターは必ず残ります。",
    "train.resume": "'latest' またはチェックポイントのフォルダーから続けます。",
    "train.log_every_n_steps": "N ステップごとに metrics.jsonl に記録します。",
    "train.fast_step": "CUDA GPU でのステップの実行方法。'auto' はバッチの形ごとにステップ全体を CUDA グラフとして記録し"
                       "（初回に通常実行と照合）、できなければ通常実行。'compile' は torch.compile も使います（最初に数分コンパイル）。",
    "train.tensorboard": "TensorBoard にも記録します（tensorboard のインストールが必要）。",
    "sample.every_n_steps": "N ステップごとにサンプル画像を作ります（0 なら最後だけ）。",
    "sample.every_n_epochs": "N エポックごとにもサンプル画像を作ります（0 なら作らない）。スタジオでエポックごとに並べて見られます。",
    "sample.prompts": "サンプル画像のプロンプト（1 行に 1 つ）。空欄ならトリガーワードを使います。",
    "sample.negative_prompt": "サンプル画像で避けたいもの。",
    "sample.steps": "サンプル 1 枚あたりのノイズ除去ステップ数。",
    "sample.guidance_scale": "サンプルがプロンプトにどれだけ強く従うか。",
    "sample.sampler": "サンプル画像のサンプラー。",
    "sample.seed": "サンプル画像のシード。",
}


def help_key(dotted: str) -> str:
    """The text key of a setting's help; dots would be read as nested keys by the browser's translation library."""
    return "h__" + dotted.replace(".", "__")


@functools.cache
def help_texts() -> dict[str, tuple[str, str]]:
    from ..config import (  # the config imports the errors, which import this package
        TrainConfig,
        config_fields,
    )

    return {help_key(key): (f.metadata.get("help", ""), HELP_JA.get(key, f.metadata.get("help", "")))
            for key, _tp, f in config_fields(TrainConfig)}
