"""Latents and text embeddings are computed once; a re-run reuses the disk cache, a changed picture does not."""

from __future__ import annotations

import torch
from PIL import Image

from lora_studio.cache import LatentCache, TextEmbeddingCache
from lora_studio.conditioning import PromptEncoder
from lora_studio.config import DatasetConfig
from lora_studio.data import scan_dataset


def _items(folder):
    return scan_dataset(DatasetConfig(path=str(folder), trigger_word="mychar", resolution=64, bucket_step=32)).items


def test_disk_cache_is_reused_and_a_changed_picture_is_encoded_again(sample_dataset, tmp_path, tiny_pipe):
    cache_dir = tmp_path / "cache"
    first = LatentCache(_items(sample_dataset), base="tiny", flip=True, disk_dir=cache_dir)
    assert first.build(tiny_pipe.vae, torch.device("cpu"), torch.float32) == len(first.items)
    again = LatentCache(_items(sample_dataset), base="tiny", flip=True, disk_dir=cache_dir)
    assert again.build(tiny_pipe.vae, torch.device("cpu"), torch.float32) == 0
    for i in range(len(first.items)):
        assert torch.equal(first.get(i, False), again.get(i, False))
        assert torch.equal(first.get(i, True), again.get(i, True))
        assert not torch.equal(first.get(i, False), first.get(i, True)), "flipped latents are their own entry"

    pictures = sorted(sample_dataset.glob("*.png"))
    Image.new("RGB", Image.open(pictures[0]).size, (255, 0, 0)).save(pictures[0])
    caption = pictures[1].with_suffix(".txt")
    caption.write_text(caption.read_text() + ", new tag")
    changed = LatentCache(_items(sample_dataset), base="tiny", flip=True, disk_dir=cache_dir)
    assert changed.build(tiny_pipe.vae, torch.device("cpu"), torch.float32) == 2
    # Latents a bf16 run rounded are not what a float32 run would compute: their own entries.
    rounded = LatentCache(_items(sample_dataset), base="tiny", flip=True, disk_dir=cache_dir)
    assert rounded.build(tiny_pipe.vae, torch.device("cpu"), torch.bfloat16) == len(rounded.items)
    assert rounded.get(0, False).dtype == torch.bfloat16


def test_latents_match_a_direct_vae_encode(sample_dataset, tiny_pipe):
    from lora_studio.data import image_to_tensor, load_image

    items = _items(sample_dataset)
    cache = LatentCache(items, base="tiny", flip=False)
    cache.build(tiny_pipe.vae, torch.device("cpu"), torch.float32)
    pixels = image_to_tensor(load_image(items[0].path), items[0].bucket)[None]
    with torch.no_grad():
        direct = tiny_pipe.vae.encode(pixels).latent_dist.mode()[0] * tiny_pipe.vae.config.scaling_factor
    torch.testing.assert_close(cache.get(0, False), direct)
    width, height = items[0].bucket
    assert cache.get(0, False).shape == (4, height // 2, width // 2)


def test_text_embeddings_are_cached_per_caption(tmp_path, tiny_pipe):
    texts = TextEmbeddingCache(PromptEncoder([tiny_pipe.tokenizer], [tiny_pipe.text_encoder], xl=False), base="tiny",
                               disk_dir=tmp_path)
    texts.precompute(["mychar, 1girl", ""], torch.float32)
    assert set(texts.memo) == {"mychar, 1girl", ""}
    got, pooled = texts.get(["mychar, 1girl", ""], torch.device("cpu"), torch.float32)
    assert pooled is None  # SD 1.x conditions on the hidden states only
    ids = tiny_pipe.tokenizer(["mychar, 1girl", ""], padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        direct = tiny_pipe.text_encoder(ids)[0]
    torch.testing.assert_close(got, direct)
    reloaded = TextEmbeddingCache(PromptEncoder([tiny_pipe.tokenizer], [None], xl=False), base="tiny", disk_dir=tmp_path)
    reloaded.precompute(["mychar, 1girl"], torch.float32)  # from disk: no encoder needed
    torch.testing.assert_close(reloaded.memo["mychar, 1girl"][0], direct[0])
