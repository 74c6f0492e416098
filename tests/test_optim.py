"""The optimizer and its LR schedule, built from the config."""

import pytest
import torch

from lora_studio.config import load_config
from lora_studio.errors import ConfigError
from lora_studio.optim import build_lr_schedule, build_optimizer


def _params() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.zeros(4, 4))]


def test_adamw_takes_the_learning_rate_and_weight_decay_of_the_config():
    cfg = load_config(None, ["train.learning_rate=3e-4", "train.weight_decay=0.05"])
    optimizer = build_optimizer(cfg, _params(), torch.device("cpu"))
    assert isinstance(optimizer, torch.optim.AdamW)
    group = optimizer.param_groups[0]
    assert group["lr"] == pytest.approx(3e-4) and group["weight_decay"] == pytest.approx(0.05)
    assert not group["fused"]  # the fused kernel is CUDA's


def test_adamw8bit_without_bitsandbytes_says_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else real(name, *a))
    cfg = load_config(None, ["train.optimizer=adamw8bit"])
    with pytest.raises(ConfigError, match="pip install bitsandbytes"):
        build_optimizer(cfg, _params(), torch.device("cpu"))


def _learning_rates(overrides: list[str], total_steps: int) -> list[float]:
    cfg = load_config(None, ["train.learning_rate=1e-3", *overrides])
    optimizer = build_optimizer(cfg, _params(), torch.device("cpu"))
    schedule = build_lr_schedule(cfg, optimizer, total_steps)
    rates = []
    for _ in range(total_steps):
        rates.append(schedule.get_last_lr()[0])
        optimizer.step()
        schedule.step()
    return rates


def test_linear_schedule_warms_up_then_falls_to_zero_at_the_last_step():
    rates = _learning_rates(["train.lr_scheduler=linear", "train.lr_warmup_steps=2"], total_steps=6)
    assert rates[:3] == pytest.approx([0.0, 5e-4, 1e-3])  # the warmup ramps from 0
    assert rates[2:] == sorted(rates[2:], reverse=True) and rates[-1] == pytest.approx(2.5e-4)


def test_constant_schedule_keeps_the_learning_rate():
    assert _learning_rates(["train.lr_scheduler=constant"], total_steps=4) == pytest.approx([1e-3] * 4)
