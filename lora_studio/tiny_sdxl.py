"""The offline `tiny-sdxl` base: SDXL's layout (two CLIP text encoders, the second with a projection; a UNet with
`addition_embed_type="text_time"` and SDXL's three levels: no attention, 2 then 10 transformer layers, scaled
down) built from configs with seed 0 and tokenizers written locally. Its images are noise; it proves the flow.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

TINY_SDXL_NOTE = ("base 'tiny-sdxl' is a random offline SDXL-shaped test model: its images are noise, it only "
                  "proves the SDXL flow works")
# SDXL 1.0's UNet (2.57 B parameters), for layouts on the meta device and the GPU benchmark's random-weight model.
SDXL_UNET_CONFIG = dict(
    sample_size=128, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=(1, 2, 10), attention_head_dim=(5, 10, 20), use_linear_projection=True,
    cross_attention_dim=2048, addition_embed_type="text_time", addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=2816,
)
# Hidden sizes of the two text encoders (SDXL: 768 and 1280); they differ as in SDXL, which is also how diffusers'
# single-file loader tells the encoders apart. The UNet's cross-attention sees both side by side: 80.
TEXT_WIDTH, TEXT_WIDTH_2 = 32, 48
TIME_EMBED_DIM = 8  # per size number; SDXL adds six (original h/w, crop top/left, target h/w)


def _text_encoder(cls, vocab_size: int, tokenizer, width: int):
    from transformers import CLIPTextConfig

    return cls(CLIPTextConfig(
        hidden_size=width, intermediate_size=37, num_attention_heads=4, num_hidden_layers=3,
        projection_dim=width, vocab_size=vocab_size, max_position_embeddings=77, layer_norm_eps=1e-5,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    ))


def _unet():
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=32, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(32, 64, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        transformer_layers_per_block=(1, 2, 3), attention_head_dim=(2, 4, 4), use_linear_projection=True,
        cross_attention_dim=TEXT_WIDTH + TEXT_WIDTH_2, addition_embed_type="text_time",
        addition_time_embed_dim=TIME_EMBED_DIM, projection_class_embeddings_input_dim=6 * TIME_EMBED_DIM + TEXT_WIDTH_2,
        norm_num_groups=32,
    )


def build_tiny_sdxl_pipeline(folder: Path, note: str = TINY_SDXL_NOTE) -> None:
    """Build the tiny SDXL pipeline with seed 0 and save it to `folder` (diffusers layout)."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    from .models import write_tiny_tokenizer

    tok_dir = folder / "_tok"
    vocab_size = write_tiny_tokenizer(tok_dir)
    tokenizer = CLIPTokenizer.from_pretrained(tok_dir, model_max_length=77)
    tokenizer_2 = CLIPTokenizer.from_pretrained(tok_dir, model_max_length=77)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        unet = _unet()
        vae = AutoencoderKL(
            block_out_channels=(32, 64), in_channels=3, out_channels=3, latent_channels=4, sample_size=64,
            down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
            scaling_factor=0.13025, force_upcast=True,
        )
        text_encoder = _text_encoder(CLIPTextModel, vocab_size, tokenizer, TEXT_WIDTH)
        text_encoder_2 = _text_encoder(CLIPTextModelWithProjection, vocab_size, tokenizer_2, TEXT_WIDTH_2)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       num_train_timesteps=1000, prediction_type="epsilon", steps_offset=1,
                                       timestep_spacing="leading")
    pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                                     tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=unet, scheduler=scheduler)
    pipe.save_pretrained(folder, safe_serialization=True)
    shutil.rmtree(tok_dir)
    (folder / "LORA_STUDIO_TINY.txt").write_text(note + "\n", encoding="utf-8")
