"""The fast training step on a CPU: the static-buffer step (the code a CUDA graph captures) run eagerly gives the
trainer's eager loss, gradients and updates; ineligible configs and capture failures fall back with one log line."""

from __future__ import annotations

import copy
import logging

import pytest
import torch

from lora_studio.config import load_config
from lora_studio.fast_step import TrainStep, denoising_loss, draw_noise
from lora_studio.graph_runner import EagerReplay

LOGGER = "lora_studio.train"


def config(*overrides: str):
    return load_config(None, ["base=tiny", "lora.rank=4", "lora.alpha=4", "train.learning_rate=1e-2", *overrides])


@pytest.fixture
def setup(tiny_pipe):
    """A tiny UNet with a fresh adapter whose B is not zero (so every gradient is non-zero), fused AdamW."""
    from lora_studio.lora import add_lora

    cfg = config()
    unet = tiny_pipe.unet
    torch.manual_seed(0)
    params = add_lora(unet, cfg.lora)
    with torch.no_grad():
        for p in params:
            p.normal_(0, 0.05)
    unet.train()
    return unet, params, tiny_pipe.scheduler


def make_step(unet, params, scheduler, cfg, **kwargs):
    optimizer = torch.optim.AdamW(params, lr=cfg.train.learning_rate, weight_decay=cfg.train.weight_decay, fused=True)
    kwargs.setdefault("runner", EagerReplay())
    return TrainStep(unet, optimizer, params, scheduler, cfg, prediction_type="epsilon", device="cpu", **kwargs), optimizer


def eager_trainer_step(unet, params, optimizer, scheduler, cfg, lat, emb, gen) -> torch.Tensor:
    """train.py's inner step, as written there (single process, no accumulation)."""
    from lora_studio.train import diffusion_loss

    loss = diffusion_loss(unet, scheduler, lat, emb, cfg, gen, "epsilon")
    loss.backward()
    if cfg.train.max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(params, cfg.train.max_grad_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def inputs(batch: int = 1, side: int = 32, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 4, side, side, generator=g), torch.randn(batch, 77, 32, generator=g)


@pytest.mark.parametrize("overrides", [(), ("train.noise_offset=0.1", "train.min_snr_gamma=null")])
def test_split_draws_and_loss_equal_diffusion_loss(setup, overrides):
    from lora_studio.train import diffusion_loss

    unet, _, scheduler = setup
    cfg = config(*overrides)
    lat, emb = inputs(batch=2)
    gen_a, gen_b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    with torch.no_grad():
        expected = diffusion_loss(unet, scheduler, lat, emb, cfg, gen_a, "epsilon")
        noise, timesteps = draw_noise(lat, gen_b, noise_offset=cfg.train.noise_offset, num_train_timesteps=1000)
        got = denoising_loss(unet, scheduler, lat, emb, noise, timesteps, prediction_type="epsilon",
                             min_snr_gamma=cfg.train.min_snr_gamma)
    assert torch.equal(expected, got)
    assert torch.equal(gen_a.get_state(), gen_b.get_state()), "later draws of the step would differ"


def test_static_step_matches_the_eager_trainer_step_across_shapes_and_lr_changes(setup):
    unet, params, scheduler = setup
    cfg = config()
    twin = copy.deepcopy(unet)
    twin_params = [p for n, p in twin.named_parameters() if "lora_" in n]
    step, opt = make_step(unet, params, scheduler, cfg)
    twin_opt = torch.optim.AdamW(twin_params, lr=cfg.train.learning_rate, weight_decay=cfg.train.weight_decay, fused=True)
    schedules = [torch.optim.lr_scheduler.LambdaLR(o, lambda s: 1.0 / (1 + s)) for o in (opt, twin_opt)]
    for i, side in enumerate([32, 32, 16, 32, 16]):  # two batch shapes, each captured once then replayed
        lat, emb = inputs(side=side, seed=i)
        loss = step(lat, emb, torch.Generator().manual_seed(i))
        expected = eager_trainer_step(twin, twin_params, twin_opt, scheduler, cfg, lat, emb, torch.Generator().manual_seed(i))
        assert loss is not None and torch.allclose(loss, expected, rtol=1e-5), (i, loss, expected)
        for p, q in zip(params, twin_params, strict=True):
            assert torch.allclose(p, q, rtol=1e-4, atol=1e-6), f"step {i}: adapter differs from the eager trainer"
        for s in schedules:
            s.step()  # the learning rate halves, thirds, ...: replays must use the new value
    assert [c.shape for c in step.checks] == [(1, 4, 32, 32), (1, 4, 16, 16)]
    assert all(c.ok for c in step.checks) and step.active


def test_gradient_checkpointing_keeps_the_eager_result(setup):
    """With checkpointing the graph path swaps in a checkpoint that saves no RNG state; same numbers."""
    unet, params, scheduler = setup
    cfg = config("train.gradient_checkpointing=true")
    twin = copy.deepcopy(unet)
    twin_params = [p for n, p in twin.named_parameters() if "lora_" in n]
    twin_opt = torch.optim.AdamW(twin_params, lr=cfg.train.learning_rate, weight_decay=cfg.train.weight_decay, fused=True)
    for model in (unet, twin):
        model.enable_gradient_checkpointing()
    step, _ = make_step(unet, params, scheduler, cfg)
    for i in range(2):
        lat, emb = inputs(side=16, seed=i)
        loss = step(lat, emb, torch.Generator().manual_seed(i))
        expected = eager_trainer_step(twin, twin_params, twin_opt, scheduler, cfg, lat, emb, torch.Generator().manual_seed(i))
        assert torch.allclose(loss, expected, rtol=1e-5)
    assert step.active and step.checks[0].ok and unet.is_gradient_checkpointing
    for p, q in zip(params, twin_params, strict=True):
        assert torch.allclose(p, q, rtol=1e-4, atol=1e-6)


def test_bf16_autocast_path_passes_its_own_check(setup):
    """Under autocast the graph path skips peft's input casts; the first-use check compares it with the eager step."""
    unet, params, scheduler = setup
    unet.to(torch.bfloat16)
    for p in params:
        p.data = p.data.float()
    step, _ = make_step(unet, params, scheduler, config("train.mixed_precision=bf16"), weight_dtype=torch.bfloat16)
    lat, emb = inputs(side=16)
    step(lat.bfloat16(), emb.bfloat16(), torch.Generator().manual_seed(0))
    assert step.active and step.checks and step.checks[0].ok, step.checks


def test_nan_loss_leaves_adapter_and_optimizer_untouched(setup):
    unet, params, scheduler = setup
    step, opt = make_step(unet, params, scheduler, config())
    lat, emb = inputs()
    step(lat, emb, torch.Generator().manual_seed(0))
    before = [p.detach().clone() for p in params]
    steps_before = opt.state[params[0]]["step"].clone()
    loss = step(torch.full_like(lat, float("nan")), emb, torch.Generator().manual_seed(1))
    assert loss is not None and not torch.isfinite(loss)
    assert all(torch.equal(p, b) for p, b in zip(params, before, strict=True))
    assert torch.equal(opt.state[params[0]]["step"], steps_before)


@pytest.mark.parametrize(("overrides", "world", "reason"), [
    (("train.gradient_accumulation_steps=2",), 1, "gradient_accumulation_steps"),
    (("train.mixed_precision=fp16",), 1, "fp16"),
    (("lora.dropout=0.1",), 1, "lora.dropout"),
    ((), 2, "2 processes"),
    (("train.fast_step=eager",), 1, "train.fast_step=eager"),
])
def test_ineligible_configs_run_eagerly_with_one_log_line(setup, caplog, overrides, world, reason):
    unet, params, scheduler = setup
    cfg = config(*[o for o in overrides if not o.startswith("train.fast_step")])
    mode = "eager" if "train.fast_step=eager" in overrides else None
    with caplog.at_level(logging.INFO, logger=LOGGER):
        step, _ = make_step(unet, params, scheduler, cfg, world_size=world, mode=mode)
    lat, emb = inputs()
    assert step(lat, emb, torch.Generator()) is None
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 1 and lines[0].startswith("training step: eager") and reason in lines[0], lines


def test_no_cuda_means_eager_with_one_log_line(setup, caplog):
    unet, params, scheduler = setup
    with caplog.at_level(logging.INFO, logger=LOGGER):
        step, _ = make_step(unet, params, scheduler, config(), runner=None)
    assert not step.active
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER] == ["training step: eager (no CUDA GPU)"]


class _FailingCapture(EagerReplay):
    def capture(self, fn):
        raise RuntimeError("operation not permitted when stream is capturing")


class _WrongReplay(EagerReplay):
    def capture(self, fn):
        def replay():
            fn()
            with torch.no_grad():
                for p in self.params:
                    p.grad.mul_(3.0)  # a graph that computed something else
        return replay


class _UpdateSkipped(EagerReplay):
    """A graph whose AdamW update never lands (found_inf stuck at 1, or stale optimizer-state pointers): loss and
    gradients are right, so only the optimizer check can see it."""

    def capture(self, fn):
        def replay():
            before = [p.detach().clone() for p in self.params]
            fn()
            with torch.no_grad():
                for p, b in zip(self.params, before, strict=True):
                    p.copy_(b)
        return replay


class _LrBakedIn(EagerReplay):
    """A graph that kept the learning rate it saw at capture instead of reading the lr tensor at each replay."""

    def capture(self, fn):
        baked = [float(lr) for lr in self.step._lrs]

        def replay():
            current = [float(lr) for lr in self.step._lrs]
            for lr, value in zip(self.step._lrs, baked, strict=True):
                lr.fill_(value)
            fn()
            for lr, value in zip(self.step._lrs, current, strict=True):
                lr.fill_(value)
        return replay


@pytest.mark.parametrize(("runner_cls", "why"), [(_FailingCapture, "capturing or checking the step failed"),
                                                 (_WrongReplay, "does not match the eager step"),
                                                 (_UpdateSkipped, "optimizer rel err 1.0e+00"),
                                                 (_LrBakedIn, "does not match the eager step")])
def test_capture_failure_or_mismatch_falls_back_to_the_eager_result(setup, caplog, runner_cls, why):
    unet, params, scheduler = setup
    cfg = config()
    twin = copy.deepcopy(unet)
    twin_params = [p for n, p in twin.named_parameters() if "lora_" in n]
    twin_opt = torch.optim.AdamW(twin_params, lr=cfg.train.learning_rate, weight_decay=cfg.train.weight_decay, fused=True)
    runner = runner_cls()
    runner.params = params
    step, _ = make_step(unet, params, scheduler, cfg, runner=runner)
    runner.step = step
    lat, emb = inputs()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        loss = step(lat, emb, torch.Generator().manual_seed(0))
    expected = eager_trainer_step(twin, twin_params, twin_opt, scheduler, cfg, lat, emb, torch.Generator().manual_seed(0))
    assert torch.allclose(loss, expected, rtol=1e-6)
    for p, q in zip(params, twin_params, strict=True):
        assert torch.allclose(p, q, rtol=1e-5, atol=1e-7), "the fallback step must be exactly the eager step"
        assert p.grad is None
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and why in warnings[0], warnings
    assert not step.active and step(lat, emb, torch.Generator()) is None


def test_trainer_with_the_graph_step_trains_the_same_adapter(sample_dataset, tmp_path, monkeypatch):
    """train.py wired to the fast step (simulated capture on the CPU) ends where the eager trainer ends."""
    from lora_studio import train as train_module
    from lora_studio import training_setup

    def fused_adamw(cfg, params, device):
        return torch.optim.AdamW(params, lr=cfg.train.learning_rate, weight_decay=cfg.train.weight_decay, fused=True)

    monkeypatch.setattr(training_setup, "build_optimizer", fused_adamw)
    made: list[TrainStep] = []

    def simulated_graph_step(*args, **kwargs):
        made.append(TrainStep(*args, runner=EagerReplay(), **kwargs))
        return made[-1]

    adapters = []
    for fast in (False, True):
        if fast:
            monkeypatch.setattr(train_module, "TrainStep", simulated_graph_step)
        cfg = load_config(None, [
            "name=t", "base=tiny", f"dataset.path={sample_dataset}", "dataset.resolution=64", "dataset.bucket_step=32",
            "lora.rank=4", "lora.alpha=4", "train.learning_rate=1e-3", "train.max_train_steps=3",
            "train.lr_scheduler=linear", f"output_dir={tmp_path / str(fast)}", "sample.steps=1"])
        result = train_module.train(cfg)
        assert result.state == "finished" and result.step == 3
        adapters.append({n: p.detach().clone() for n, p in result.unet.named_parameters() if "lora_" in n})
    assert made and made[0].active and made[0].checks and all(c.ok for c in made[0].checks), "no graph path ran"
    eager, graph = adapters
    assert eager.keys() == graph.keys()
    for name in eager:
        assert torch.allclose(eager[name], graph[name], rtol=1e-4, atol=1e-6), name
    assert any(eager[n].abs().sum() > 0 for n in eager if "lora_B" in n), "the adapter never moved"


class _WrongLoraAGradient(EagerReplay):
    """A graph whose lora_A gradients come out 10x too large: invisible where lora_B is zero (every lora_A
    gradient is zero then), so the check must run with lora_B non-zero."""

    def capture(self, fn):
        def replay():
            fn()
            with torch.no_grad():
                for name, p in self.named:
                    if "lora_A" in name:
                        p.grad.mul_(10.0)
        return replay


@pytest.mark.parametrize("runner_cls", [EagerReplay, _WrongLoraAGradient])
def test_first_use_check_sees_a_wrong_lora_a_gradient_at_step_one(tiny_pipe, caplog, runner_cls):
    """The trainer's real first step: a fresh adapter (lora_B = 0). A right graph passes, a wrong one falls back."""
    from lora_studio.lora import add_lora

    cfg = config()
    unet = tiny_pipe.unet
    torch.manual_seed(0)
    params = add_lora(unet, cfg.lora)
    unet.train()
    assert all(not p.any() for n, p in unet.named_parameters() if "lora_B" in n)
    runner = runner_cls()
    runner.named = [(n, p) for n, p in unet.named_parameters() if "lora_" in n]
    step, _ = make_step(unet, params, tiny_pipe.scheduler, cfg, runner=runner)
    lat, emb = inputs(side=16)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        loss = step(lat, emb, torch.Generator().manual_seed(0))
    assert loss is not None and torch.isfinite(loss)
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]
    if runner_cls is EagerReplay:
        assert step.active and step.checks[0].ok and not warnings, (step.checks, warnings)
    else:
        assert not step.active and len(warnings) == 1 and "does not match the eager step" in warnings[0]
        assert step.checks[0].grad_rel_err > 0.5


class _OutOfMemoryInCheck(EagerReplay):
    """Capture works, but the card runs out of memory in the check's replay."""

    def capture(self, fn):
        def replay():
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return replay


def test_out_of_memory_in_the_check_falls_back_to_the_eager_step(setup, caplog):
    unet, params, scheduler = setup
    cfg = config()
    twin = copy.deepcopy(unet)
    twin_params = [p for n, p in twin.named_parameters() if "lora_" in n]
    twin_opt = torch.optim.AdamW(twin_params, lr=cfg.train.learning_rate, weight_decay=cfg.train.weight_decay, fused=True)
    step, _ = make_step(unet, params, scheduler, cfg, runner=_OutOfMemoryInCheck())
    lat, emb = inputs()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        loss = step(lat, emb, torch.Generator().manual_seed(0))
    expected = eager_trainer_step(twin, twin_params, twin_opt, scheduler, cfg, lat, emb, torch.Generator().manual_seed(0))
    assert torch.allclose(loss, expected, rtol=1e-6)
    for p, q in zip(params, twin_params, strict=True):
        assert torch.allclose(p, q, rtol=1e-5, atol=1e-7), "the step after the fallback is the eager step"
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "OutOfMemoryError" in warnings[0], warnings
    assert not step.active


class _RecordingReplay(EagerReplay):
    """Records the latents each replay runs on."""

    def capture(self, fn):
        def replay():
            self.seen.append(self.shape.latents.clone())
            fn()
        return replay


def test_the_check_replays_on_inputs_the_capture_never_saw(setup, monkeypatch):
    import lora_studio.fast_step as fast_step

    unet, params, scheduler = setup
    runner = _RecordingReplay()
    runner.seen = []
    step, _ = make_step(unet, params, scheduler, config(), runner=runner)
    buffers = fast_step.static_buffers

    def remember(*args, **kwargs):
        runner.shape = buffers(*args, **kwargs)
        return runner.shape

    monkeypatch.setattr(fast_step, "static_buffers", remember)
    lat, emb = inputs(side=16)
    step(lat, emb, torch.Generator().manual_seed(0))
    assert step.active and runner.seen
    assert not any(torch.equal(seen, lat) for seen in runner.seen), "the check replayed the capture's own inputs"
    step(lat, emb, torch.Generator().manual_seed(1))  # the next step replays on the step's real inputs
    assert torch.equal(runner.seen[-1], lat)
