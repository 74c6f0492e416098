"""Checkpoint folders: only finished ones count, pruning keeps the newest, another run's are set aside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lora_studio.checkpoints import (
    CHECKPOINT_DIR,
    TRAINER_STATE,
    check_same_lora,
    clean_partials,
    list_checkpoints,
    publish,
    resolve_resume,
    set_aside_earlier_run,
    staging_dir,
)
from lora_studio.errors import ConfigError


def _stage(run: Path, step: int, payload: bytes = b"weights") -> None:
    staging = staging_dir(run, step)
    staging.mkdir(parents=True)
    (staging / "model.safetensors").write_bytes(payload)


def _save(run: Path, step: int, keep: int = 2, lora: dict | None = None) -> Path:
    _stage(run, step)
    return publish(run, step, {"step": step, "lora": lora or {"rank": 4}}, keep=keep)


def test_published_checkpoints_are_listed_oldest_first_and_pruned_to_keep(tmp_path):
    for step in (10, 20, 30):
        _save(tmp_path, step, keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-000020", "step-000030"]
    assert json.loads((tmp_path / CHECKPOINT_DIR / "step-000030" / TRAINER_STATE).read_text())["step"] == 30


def test_a_checkpoint_without_its_trainer_state_is_never_resumed_and_is_cleaned(tmp_path):
    _save(tmp_path, 10)
    _stage(tmp_path, 20)  # a crash before publish: the staging folder stays behind
    unfinished = tmp_path / CHECKPOINT_DIR / "step-000030"
    unfinished.mkdir()  # a folder without trainer_state.json (written last) was never finished
    assert resolve_resume(tmp_path, "latest").name == "step-000010"
    clean_partials(tmp_path)
    assert not staging_dir(tmp_path, 20).exists()


def test_resume_latest_without_checkpoints_is_a_fresh_start_and_a_bad_folder_is_named(tmp_path):
    assert resolve_resume(tmp_path, "latest") is None
    assert resolve_resume(tmp_path, None) is None
    with pytest.raises(ConfigError, match="train.resume: '.*nowhere' is not a finished checkpoint"):
        resolve_resume(tmp_path, str(tmp_path / "nowhere"))


def test_a_fresh_start_sets_an_earlier_runs_checkpoints_aside(tmp_path):
    _save(tmp_path, 10)
    _save(tmp_path, 20)
    aside, names = set_aside_earlier_run(tmp_path)
    assert names == ["step-000010", "step-000020"] and list_checkpoints(tmp_path) == []
    assert sorted(p.name for p in aside.iterdir()) == names
    assert set_aside_earlier_run(tmp_path) is None


def test_resuming_with_other_lora_settings_names_the_key(tmp_path):
    checkpoint = _save(tmp_path, 10, lora={"rank": 4, "alpha": 2.0})
    check_same_lora(checkpoint, {"rank": 4, "alpha": 2.0})
    with pytest.raises(ConfigError, match=r"lora.alpha=2.0; this config says lora.alpha=8.0"):
        check_same_lora(checkpoint, {"rank": 4, "alpha": 8.0})
