"""Golden values: a short tiny run's losses and adapter checksum are pinned, so a refactor that changes numbers
is caught (torchtune's practice). The values were recorded before the restructuring and are the same on torch
2.13.0 (CPU build) and 2.14.1 (CUDA build on a CPU). If a change is meant to alter the numbers, say so in its
commit and record the new values here."""

from __future__ import annotations

import hashlib

from safetensors.torch import load_file

from lora_studio.config import load_config
from lora_studio.runlog import read_metrics

GOLDEN_LOSSES = [1.066842, 1.068149, 0.484942, 1.126764, 1.057567, 1.095494]
GOLDEN_ADAPTER_SHA256 = "046c4982767036e06d22195c4c65337f61f41a9533c8edf5bf19bf4404914335"


def adapter_checksum(path) -> str:
    """sha256 over the kohya file's keys and float32 values, in key order (metadata and file layout excluded)."""
    tensors = load_file(str(path))
    digest = hashlib.sha256()
    for key in sorted(tensors):
        digest.update(key.encode())
        digest.update(tensors[key].float().numpy().tobytes())
    return digest.hexdigest()


def test_a_short_tiny_run_gives_the_pinned_losses_and_adapter(tmp_path, tiny_base_path):
    from lora_studio.sample_data import make_sample_dataset
    from lora_studio.train import train

    dataset = make_sample_dataset(tmp_path / "dataset", count=6, size=96)
    cfg = load_config(None, [
        "name=g", "base=tiny", f"dataset.path={dataset}", "dataset.trigger_word=mychar", "dataset.resolution=64",
        "dataset.bucket_step=32", "lora.rank=4", "lora.alpha=2", "train.learning_rate=1e-3",
        f"output_dir={tmp_path / 'run'}", "train.max_train_steps=6", "sample.every_n_steps=0", "sample.steps=2",
        "train.seed=1234",
    ])
    result = train(cfg)
    losses = [round(m["loss"], 6) for m in read_metrics(tmp_path / "run") if "loss" in m]
    assert losses == GOLDEN_LOSSES
    assert adapter_checksum(result.adapter) == GOLDEN_ADAPTER_SHA256
