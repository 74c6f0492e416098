"""The trained adapter's file: kohya-format with the ss_* metadata, never NaN weights over a good file."""

import pytest
import torch
from safetensors import safe_open

from lora_studio.adapter_file import ensure_finite, save_adapter
from lora_studio.config import load_config
from lora_studio.errors import TrainingStopped
from lora_studio.lora import add_lora
from lora_studio.models import pipeline_family


def _adapter(tiny_pipe, tmp_path):
    cfg = load_config(None, ["name=mine", "base=tiny", "lora.rank=4", "lora.alpha=2", "dataset.trigger_word=zkw",
                             f"dataset.path={tmp_path / 'data'}", f"output_dir={tmp_path / 'run'}"])
    torch.manual_seed(0)
    params = add_lora(tiny_pipe.unet, cfg.lora)
    return cfg, params, pipeline_family(tiny_pipe)


def test_the_adapter_carries_the_training_facts_a1111_shows(tiny_pipe, tmp_path):
    cfg, _, family = _adapter(tiny_pipe, tmp_path)
    path = save_adapter(tiny_pipe.unet, cfg, family, tmp_path / "run", step=12, epoch=3, tag_counts={"1girl": 5},
                        seconds=7.0, num_epochs=4)
    assert path == tmp_path / "run" / "mine.safetensors"
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
        assert any(key.startswith("lora_unet_") for key in f.keys())
    assert (meta["ss_steps"], meta["ss_epoch"], meta["ss_num_epochs"]) == ("12", "3", "4")
    assert meta["ss_network_dim"] == "4" and meta["ss_trigger_word"] == "zkw" and meta["ss_output_name"] == "mine"
    assert '"1girl": 5' in meta["ss_tag_frequency"]
    assert (tmp_path / "run" / "diffusers" / "pytorch_lora_weights.safetensors").is_file()


def test_nan_weights_are_refused_and_the_previous_adapter_is_kept(tiny_pipe, tmp_path):
    cfg, params, family = _adapter(tiny_pipe, tmp_path)
    path = save_adapter(tiny_pipe.unet, cfg, family, tmp_path / "run", 5, 1, {}, 1.0)
    before = path.read_bytes()
    with torch.no_grad():
        params[0].fill_(float("nan"))
    with pytest.raises(TrainingStopped, match="NaN or infinite by step 6"):
        save_adapter(tiny_pipe.unet, cfg, family, tmp_path / "run", 6, 1, {}, 1.0)
    assert path.read_bytes() == before
    with pytest.raises(TrainingStopped):
        ensure_finite(params, 6)
