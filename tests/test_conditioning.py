"""Captions -> conditioning per family: SDXL's equals what diffusers' own StableDiffusionXLPipeline computes, and the
text cache keeps the pooled output (in memory and on disk)."""

from __future__ import annotations

import torch

from lora_studio.cache import TextEmbeddingCache
from lora_studio.conditioning import PromptEncoder, sdxl_time_ids
from lora_studio.families import SDXL
from lora_studio.models import load_pipeline


def test_sdxl_conditioning_equals_the_diffusers_pipelines_own_encoding():
    pipe = load_pipeline("tiny-sdxl")
    captions = ["mychar, 1girl, green hair", ""]
    hidden, pooled = PromptEncoder.for_pipe(pipe, SDXL).encode(captions)
    with torch.no_grad():
        expected, _, expected_pooled, _ = pipe.encode_prompt(captions, do_classifier_free_guidance=False)
    # both encoders' penultimate hidden states side by side (32 + 48), the second encoder's projected pooled output
    assert hidden.shape == (2, 77, 80) and pooled.shape == (2, 48)
    torch.testing.assert_close(hidden, expected)
    torch.testing.assert_close(pooled, expected_pooled)


def test_cached_sdxl_embeddings_keep_the_pooled_output_on_disk(tmp_path):
    pipe = load_pipeline("tiny-sdxl")
    encoder = PromptEncoder.for_pipe(pipe, SDXL)
    texts = TextEmbeddingCache(encoder, base="tiny-sdxl", disk_dir=tmp_path)
    texts.precompute(["mychar, 1girl", ""], torch.float32)
    hidden, pooled = texts.get(["mychar, 1girl", ""], torch.device("cpu"), torch.float32)
    direct_hidden, direct_pooled = encoder.encode(["mychar, 1girl", ""])
    torch.testing.assert_close(hidden, direct_hidden)
    torch.testing.assert_close(pooled, direct_pooled)
    # a later run reads both from disk without the encoders
    reloaded = TextEmbeddingCache(PromptEncoder([None, None], [None, None], xl=True), base="tiny-sdxl",
                                  disk_dir=tmp_path)
    reloaded.precompute(["mychar, 1girl"], torch.float32)
    torch.testing.assert_close(reloaded.memo["mychar, 1girl"][1], direct_pooled[0])
    # shuffled captions miss the cache: encoded on the spot, same result
    fresh_hidden, fresh_pooled = texts.get(["1girl, mychar"], torch.device("cpu"), torch.float32)
    torch.testing.assert_close(fresh_pooled, encoder.encode(["1girl, mychar"])[1])
    assert fresh_hidden.shape == (1, 77, 80)


def test_time_ids_are_the_six_size_numbers_per_picture():
    ids = sdxl_time_ids([(1200, 800, 0, 32, 1152, 768), (1024, 1024, 0, 0, 1024, 1024)], "cpu", torch.bfloat16)
    assert ids.dtype == torch.bfloat16 and ids.tolist() == [[1200, 800, 0, 32, 1152, 768], [1024, 1024, 0, 0, 1024, 1024]]
