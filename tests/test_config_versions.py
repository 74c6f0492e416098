"""Config versions: a run's config.yaml says which release's keys it uses, and a later release migrates it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lora_studio import config_versions
from lora_studio.config import dump_yaml, load_config
from lora_studio.config_versions import CONFIG_VERSION
from lora_studio.errors import ConfigError

# What a run's config.yaml looked like in the release of 2026-12-06, before versions existed (kept, never rewritten).
RELEASE_2026_12 = Path(__file__).parent / "data" / "config-2026-12-06.yaml"


def test_a_config_from_the_2026_12_release_still_loads():
    assert "config_version" not in RELEASE_2026_12.read_text()
    cfg = load_config(RELEASE_2026_12)
    assert (cfg.name, cfg.base, cfg.lora.rank, cfg.train.max_train_steps) == ("quickstart", "tiny", 4, 20)


def test_written_configs_carry_this_release_version_and_read_back_the_same():
    cfg = load_config(RELEASE_2026_12)
    text = dump_yaml(cfg)
    assert yaml.safe_load(text)["config_version"] == CONFIG_VERSION
    assert text.startswith("config_version:")


def test_a_config_from_a_newer_release_is_refused_by_name(tmp_path):
    newer = tmp_path / "config.yaml"
    newer.write_text(f"config_version: {CONFIG_VERSION + 1}\nname: x\n")
    with pytest.raises(ConfigError, match="newer lora-studio.*upgrade"):
        load_config(newer)
    newer.write_text("config_version: two\nname: x\n")
    with pytest.raises(ConfigError, match="config_version"):
        load_config(newer)


@pytest.fixture
def renamed_learning_rate(monkeypatch):
    """Pretend the next release renamed train.learning_rate to train.lr: this release's files must migrate."""
    def v1_to_v2(data: dict) -> dict:
        train = dict(data.get("train") or {})
        if "learning_rate" in train:
            train["lr"] = train.pop("learning_rate")
        return {**data, "train": train}

    def v2_to_today(data: dict) -> dict:  # the test's stand-in for "the fields as the dataclass names them"
        train = dict(data.get("train") or {})
        if "lr" in train:
            train["learning_rate"] = train.pop("lr")
        return {**data, "train": train}

    monkeypatch.setattr(config_versions, "CONFIG_VERSION", 3)
    monkeypatch.setattr(config_versions, "MIGRATIONS", {1: v1_to_v2, 2: v2_to_today})
    return v1_to_v2


def test_migrations_run_in_order_from_the_file_version(tmp_path, renamed_learning_rate):
    assert load_config(RELEASE_2026_12).train.learning_rate == pytest.approx(1e-3)  # version 1: both steps
    v2 = tmp_path / "config.yaml"
    v2.write_text("config_version: 2\nname: x\ntrain:\n  lr: 0.003\n")  # version 2: only the second step
    assert load_config(v2).train.learning_rate == pytest.approx(3e-3)


def test_an_older_run_resumes_after_its_config_is_migrated(sample_dataset, tmp_path, renamed_learning_rate):
    from lora_studio.runlog import read_status
    from lora_studio.train import train

    run = tmp_path / "run"
    overrides = [f"dataset.path={sample_dataset}", f"output_dir={run}", "dataset.resolution=64",
                 "train.checkpoint_every_n_steps=2", "sample.every_n_steps=0", "sample.steps=1"]
    first = train(load_config(RELEASE_2026_12, [*overrides, "train.max_train_steps=2"]))
    assert first.step == 2
    saved = yaml.safe_load((run / "config.yaml").read_text())
    saved.pop("config_version")  # make the run's own file look like the 2026-12 release wrote it
    (run / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    resumed = train(load_config(run / "config.yaml", ["train.resume=latest", "train.max_train_steps=4"]))
    assert resumed.step == 4 and read_status(run)["state"] == "finished"
