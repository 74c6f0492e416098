"""`lora-studio train` starts accelerate the way a user would, after cheap checks, and reports a failed run as 2."""

from __future__ import annotations

import sys

import pytest

from lora_studio import launch
from lora_studio.errors import ConfigError


def test_without_an_accelerate_config_one_local_process_is_asked_for(monkeypatch):
    monkeypatch.setattr(launch, "_has_accelerate_config", lambda: False)
    cmd = launch.accelerate_command("configs/quickstart.yaml", ["train.max_train_steps=2"])
    assert cmd[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert cmd[cmd.index("--num_processes") + 1] == "1" and "--quiet" in cmd
    assert cmd[-4:] == ["-m", "lora_studio.train", "configs/quickstart.yaml", "train.max_train_steps=2"]


def test_the_users_launcher_arguments_replace_the_defaults(monkeypatch):
    monkeypatch.setattr(launch, "_has_accelerate_config", lambda: False)
    cmd = launch.accelerate_command("c.yaml", [], "--multi_gpu --num_processes 2")
    assert cmd[3:6] == ["--multi_gpu", "--num_processes", "2"] and cmd.count("--num_processes") == 1


def test_a_bad_config_is_refused_before_any_process_starts(monkeypatch, tmp_path):
    started = []
    monkeypatch.setattr(launch, "accelerate_command", lambda *a, **k: started.append(a) or ["false"])
    with pytest.raises(ConfigError, match="lora.rank"):
        launch.run_training("configs/quickstart.yaml", ["lora.rank=0", f"output_dir={tmp_path}"])
    assert started == []


@pytest.mark.parametrize("state, says_error, trainer_code, expected", [
    ("failed", False, 1, 2),     # status.json says failed
    ("running", True, 1, 2),     # the trainer could not write status.json but printed its one error line
    ("finished", False, 0, 0),
    ("stopped", False, 1, 1),    # accelerate's own failure, no message from the trainer: its code stands
])
def test_a_run_that_failed_with_a_message_exits_2(monkeypatch, tmp_path, tiny_base_path, state, says_error,
                                                   trainer_code, expected):
    status = tmp_path / "run" / "status.json"
    trainer = (  # stands in for the trainer process: it leaves its status.json, maybe its error line, and exits
        "import json, pathlib, sys; p = pathlib.Path(sys.argv[1]); p.parent.mkdir(exist_ok=True); "
        f"p.write_text(json.dumps({{'state': {state!r}, 'step': 0}})); "
        f"print('error: could not write status.json' if {says_error} else 'bye', file=sys.stderr); "
        f"sys.exit({trainer_code})")
    monkeypatch.setattr(launch, "accelerate_command", lambda *a, **k: [sys.executable, "-c", trainer, str(status)])
    assert launch.run_training("configs/quickstart.yaml", [f"output_dir={tmp_path / 'run'}"]) == expected


def test_the_checks_run_once_per_launch(monkeypatch, tmp_path, tiny_base_path):
    calls = []
    real = launch.preflight
    monkeypatch.setattr(launch, "preflight", lambda cfg: calls.append(cfg.name) or real(cfg))
    seen = tmp_path / "env.txt"
    trainer = ("import os, pathlib, sys; "
               f"pathlib.Path(sys.argv[1]).write_text(os.environ.get({launch.CHECKED_ENV!r}, 'unset'))")
    monkeypatch.setattr(launch, "accelerate_command", lambda *a, **k: [sys.executable, "-c", trainer, str(seen)])
    assert launch.run_training("configs/quickstart.yaml", [f"output_dir={tmp_path / 'run'}"]) == 0
    assert calls == ["quickstart"] and seen.read_text() == "1"  # the trainer is told not to check again


def test_a_trainer_started_by_a_launcher_does_not_check_again(monkeypatch, sample_dataset, tmp_path):
    from lora_studio import train as train_module
    from lora_studio.config import load_config

    def checked_twice(cfg):
        raise AssertionError("preflight ran again inside the trainer")

    monkeypatch.setattr(train_module, "preflight", checked_twice)
    monkeypatch.setenv(launch.CHECKED_ENV, "1")
    cfg = load_config(None, ["base=tiny", f"dataset.path={sample_dataset}", "dataset.resolution=64",
                             f"output_dir={tmp_path / 'run'}", "train.max_train_steps=1", "sample.steps=1"])
    assert train_module.train(cfg).step == 1
    monkeypatch.delenv(launch.CHECKED_ENV)  # `accelerate launch -m lora_studio.train` by hand: the trainer checks
    with pytest.raises(AssertionError, match="preflight ran again"):
        train_module.train(cfg)


@pytest.mark.parametrize("setting, package", [("train.optimizer=adamw8bit", "bitsandbytes"),
                                              ("train.tensorboard=true", "tensorboard")])
def test_a_setting_whose_package_is_missing_is_named_before_launch(monkeypatch, tmp_path, tiny_base_path, setting,
                                                                    package):
    import importlib.util

    from lora_studio.config import load_config
    from lora_studio.errors import ConfigError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == package else real(name, *a))
    cfg = load_config(None, ["base=tiny", f"output_dir={tmp_path / 'run'}", setting])
    with pytest.raises(ConfigError, match=f"{setting.split('=')[0]}.*pip install {package}"):
        launch.preflight(cfg)
