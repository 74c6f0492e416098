"""Per-epoch / per-step adapters: kohya's names, the final file's metadata with their own epoch and step, pruning,
a resumed run that saves the same files, and a fresh start that sets the earlier run's files aside."""

from __future__ import annotations

import torch
from safetensors.torch import load_file

from lora_studio import epoch_adapters
from lora_studio.lora import read_lora_metadata
from tests.test_train import _stop_after, tiny_config

# The 6-picture test dataset gives 6 steps per epoch at batch 1, so 3 epochs are 18 steps.
EPOCHS = ("train.epochs=3", "train.save_every_n_epochs=1")


def test_every_epoch_writes_a_kohya_named_adapter_with_its_own_epoch_and_step(sample_dataset, tmp_path):
    from lora_studio.train import train

    run = tmp_path / "run"
    result = train(tiny_config(sample_dataset, run, *EPOCHS))
    names = sorted(p.name for p in run.glob("*.safetensors"))
    assert names == ["t-000001.safetensors", "t-000002.safetensors", "t.safetensors"]  # epoch 3 is the final one
    final = read_lora_metadata(result.adapter)
    per_step = result.step // 3
    for epoch in (1, 2):
        meta = read_lora_metadata(run / f"t-{epoch:06d}.safetensors")
        assert (meta["ss_epoch"], meta["ss_steps"]) == (str(epoch), str(epoch * per_step))
        same = {k for k in final if k not in ("ss_epoch", "ss_steps", "ss_training_started_at", "ss_training_finished_at", "ss_training_time")}
        assert {k: meta.get(k) for k in same} == {k: final[k] for k in same}
    assert (final["ss_epoch"], final["ss_steps"], final["ss_num_epochs"]) == ("3", str(result.step), "3")
    saved = epoch_adapters.all_adapters(run, "t")
    assert [(a.epoch, a.final) for a in saved] == [(1, False), (2, False), (3, True)]
    # Each file holds the adapter as it was then: epoch 1 differs from the final weights.
    first, last = load_file(run / "t-000001.safetensors"), load_file(result.adapter)
    assert first.keys() == last.keys()
    assert any(not torch.equal(first[k], last[k]) for k in first if k.endswith("lora_up.weight"))


def test_step_saves_and_pruning_keep_the_newest(sample_dataset, tmp_path):
    from lora_studio.train import train

    run = tmp_path / "run"
    train(tiny_config(sample_dataset, run, "train.max_train_steps=10", "train.save_every_n_steps=2",
                      "train.keep_n_adapters=2"))
    assert sorted(p.name for p in run.glob("*.safetensors")) == [
        "t-step00000006.safetensors", "t-step00000008.safetensors", "t.safetensors"]
    assert read_lora_metadata(run / "t-step00000008.safetensors")["ss_steps"] == "8"
    assert not list(run.glob(".*.tmp"))  # written through temporaries, none left behind


def test_a_resumed_run_saves_the_same_per_epoch_adapters(sample_dataset, tmp_path, monkeypatch):
    from lora_studio.train import train

    extra = (*EPOCHS, "train.checkpoint_every_n_steps=5")
    train(tiny_config(sample_dataset, tmp_path / "a", *extra))
    with monkeypatch.context() as m:
        _stop_after(m, 9)  # stopped in epoch 2: epoch 1's adapter exists, epoch 2's not yet
        stopped = train(tiny_config(sample_dataset, tmp_path / "b", *extra))
    assert stopped.state == "stopped" and stopped.step == 9
    assert sorted(p.name for p in (tmp_path / "b").glob("t-*.safetensors")) == ["t-000001.safetensors"]
    train(tiny_config(sample_dataset, tmp_path / "b", *extra, "train.resume=latest"))
    for name in ("t-000001.safetensors", "t-000002.safetensors", "t.safetensors"):
        a, b = load_file(tmp_path / "a" / name), load_file(tmp_path / "b" / name)
        for key in a:
            torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=1e-6, msg=f"{name} {key}")
        assert read_lora_metadata(tmp_path / "b" / name)["ss_epoch"] == read_lora_metadata(tmp_path / "a" / name)["ss_epoch"]


def test_a_stop_at_the_end_of_an_epoch_still_saves_that_epoch(sample_dataset, tmp_path, monkeypatch):
    from lora_studio.train import train

    with monkeypatch.context() as m:
        _stop_after(m, 6)  # the last step of epoch 1
        stopped = train(tiny_config(sample_dataset, tmp_path / "run", *EPOCHS))
    assert stopped.state == "stopped" and stopped.step == 6
    assert read_lora_metadata(tmp_path / "run" / "t-000001.safetensors")["ss_steps"] == "6"


def test_a_fresh_start_sets_the_earlier_runs_adapters_aside(sample_dataset, tmp_path):
    from lora_studio.train import train

    run = tmp_path / "run"
    train(tiny_config(sample_dataset, run, *EPOCHS))
    train(tiny_config(sample_dataset, run, "train.max_train_steps=3"))
    assert sorted(p.name for p in run.glob("*.safetensors")) == ["t.safetensors"]
    assert sorted(p.name for p in (run / "earlier-adapters").iterdir()) == ["t-000001.safetensors",
                                                                            "t-000002.safetensors"]


def test_due_follows_the_settings():
    from lora_studio.config import load_config

    cfg = load_config(None, ["name=r", "train.save_every_n_epochs=2", "train.save_every_n_steps=5"])
    assert epoch_adapters.due(cfg, 16, 2, done=False) == "r-000002.safetensors"
    assert epoch_adapters.due(cfg, 8, 1, done=False) is None
    assert epoch_adapters.due(cfg, 10, None, done=False) == "r-step00000010.safetensors"
    assert epoch_adapters.due(cfg, 20, 2, done=True) is None  # the last step writes the final adapter only
