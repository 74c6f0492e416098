"""Loading a base: the offline tiny model, and the messages for bases that cannot be loaded."""

from __future__ import annotations

import pytest
import torch

from lora_studio.errors import BaseModelError
from lora_studio.models import TINY_NOTE, build_tiny_pipeline, load_pipeline, tiny_path


def test_tiny_base_is_built_once_and_is_sd_shaped(tiny_base_path):
    assert tiny_path() == tiny_base_path
    assert (tiny_base_path / "model_index.json").is_file()
    assert TINY_NOTE in (tiny_base_path / "LORA_STUDIO_TINY.txt").read_text()
    pipe = load_pipeline("tiny")
    assert pipe.unet.config.cross_attention_dim == 32
    assert pipe.text_encoder.config.hidden_size == 32
    ids = pipe.tokenizer("mychar, 1girl, green hair").input_ids
    assert ids[0] == pipe.tokenizer.bos_token_id and ids[-1] == pipe.tokenizer.eos_token_id
    assert len(set(ids)) > 5, "the local tokenizer should split tags into real tokens"


def test_tiny_base_is_the_same_on_every_machine(tmp_path, tiny_base_path):
    """Built from configs with a fixed seed: a rebuilt copy has bit-identical weights."""
    build_tiny_pipeline(tmp_path / "again")
    from safetensors.torch import load_file

    for part in ("unet", "vae", "text_encoder"):
        first = load_file(next((tiny_base_path / part).glob("*.safetensors")))
        second = load_file(next((tmp_path / "again" / part).glob("*.safetensors")))
        assert first.keys() == second.keys()
        assert all(torch.equal(first[k], second[k]) for k in first), part


def test_a_local_diffusers_folder_loads_as_the_same_model(tiny_base_path):
    copy = load_pipeline(str(tiny_base_path))  # what a user's downloaded or converted folder goes through
    reference = load_pipeline("tiny")
    for name in ("unet", "vae", "text_encoder"):
        ours, theirs = getattr(copy, name).state_dict(), getattr(reference, name).state_dict()
        assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours), name


def test_offline_hub_id_names_the_base_and_suggests_a_way_out():
    with pytest.raises(BaseModelError) as err:
        load_pipeline("someone/not-in-the-cache-model")
    message = str(err.value)
    assert "someone/not-in-the-cache-model" in message and "tiny" in message and "local" in message


def test_pickle_checkpoints_are_refused_unless_allowed(tmp_path):
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"not really a pickle")
    with pytest.raises(BaseModelError, match="allow_pickle"):
        load_pipeline(str(ckpt))


@pytest.mark.parametrize("kind", ["folder without model_index", "missing file", "nonsense"])
def test_unusable_bases_are_named(tmp_path, kind):
    if kind == "folder without model_index":
        base = tmp_path / "empty"
        base.mkdir()
    elif kind == "missing file":
        base = tmp_path / "missing.safetensors"
    else:
        base = "not a model at all"
    with pytest.raises(BaseModelError) as err:
        load_pipeline(str(base))
    assert str(base) in str(err.value)


def test_tiny_sdxl_is_sdxl_shaped_and_a_copy_of_its_folder_loads_as_sdxl():
    from lora_studio.families import SDXL
    from lora_studio.models import TINY_SDXL, pipeline_family

    pipe = load_pipeline(TINY_SDXL)
    assert type(pipe).__name__ == "StableDiffusionXLPipeline" and pipeline_family(pipe) == SDXL
    assert pipe.unet.config.addition_embed_type == "text_time"
    assert type(pipe.text_encoder_2).__name__ == "CLIPTextModelWithProjection"
    assert pipe.unet.config.cross_attention_dim == pipe.text_encoder.config.hidden_size + pipe.text_encoder_2.config.hidden_size
    assert tuple(pipe.unet.config.down_block_types) == ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D")
    assert pipeline_family(load_pipeline(str(tiny_path(TINY_SDXL)))) == SDXL  # a local SDXL folder


def test_a_single_file_sdxl_without_its_configs_names_what_is_missing(tmp_path):
    """Offline and the SDXL configs not in the Hugging Face cache: one message naming the hub model and what to do."""
    from safetensors.torch import save_file

    path = tmp_path / "illustrious.safetensors"
    save_file({"conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias": torch.zeros(1)}, str(path))
    with pytest.raises(BaseModelError) as error:
        load_pipeline(str(path))
    message = str(error.value)
    assert "'stabilityai/stable-diffusion-xl-base-1.0'" in message and str(path) in message and "(SDXL)" in message
    assert "huggingface-cli download stabilityai/stable-diffusion-xl-base-1.0" in message


def test_a_single_file_sdxl_loads_offline_once_its_configs_are_cached(tiny_sdxl_single_file, cached_sdxl_configs):
    from lora_studio.families import SDXL
    from lora_studio.models import pipeline_family

    single = load_pipeline(str(tiny_sdxl_single_file))
    reference = load_pipeline("tiny-sdxl")
    assert type(single).__name__ == "StableDiffusionXLPipeline" and pipeline_family(single) == SDXL
    for part in ("unet", "vae", "text_encoder", "text_encoder_2"):
        ours, theirs = getattr(single, part).state_dict(), getattr(reference, part).state_dict()
        assert ours.keys() == theirs.keys(), part
        assert all(torch.equal(ours[k], theirs[k]) for k in theirs), part


def test_a_v_prediction_single_file_sets_v_prediction_and_zero_terminal_snr(tmp_path, tiny_sdxl_single_file,
                                                                             cached_sdxl_configs):
    """NoobAI-XL V-Pred's file carries `v_pred` (and `ztsnr`) keys: the base samples and trains as v-prediction."""
    from safetensors.torch import load_file, save_file

    from lora_studio.families import SDXL_V
    from lora_studio.models import pipeline_family

    state = load_file(str(tiny_sdxl_single_file))
    path = tmp_path / "tiny-noobai-vpred.safetensors"
    save_file({**state, "v_pred": torch.tensor([]), "ztsnr": torch.tensor([])}, str(path))
    pipe = load_pipeline(str(path))
    assert pipeline_family(pipe) == SDXL_V
    assert pipe.scheduler.config.prediction_type == "v_prediction"
    assert pipe.scheduler.config.rescale_betas_zero_snr and pipe.scheduler.config.timestep_spacing == "trailing"
