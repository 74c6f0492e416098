"""The lean layers of the captured step (lora_studio/lean_layers.py) compute what the plain peft + autocast step
computes: exactly (to rounding) in fp32, as accurately in bf16, and a 200-step run's loss curve stays within the
run-to-run noise of the plain step. Inputs are ones no capture saw, and lora_B is non-zero (so lora_A learns)."""

from __future__ import annotations

import contextlib
import copy

import pytest
import torch

from lora_studio.lean_layers import LoraWeights, installed, lean_forwards
from lora_studio.loss import denoising_loss, draw_noise


@pytest.fixture
def adapted(tiny_pipe):
    from lora_studio.config import load_config
    from lora_studio.lora import add_lora

    cfg = load_config(None, ["base=tiny", "lora.rank=4", "lora.alpha=8"])  # scale 2: the fold is exercised
    unet = tiny_pipe.unet
    torch.manual_seed(0)
    params = add_lora(unet, cfg.lora)
    with torch.no_grad():
        for p in params:
            p.normal_(0, 0.05)
    unet.train()
    return unet, tiny_pipe.scheduler


def bf16_copy(unet):
    twin = copy.deepcopy(unet).to(torch.bfloat16)
    for name, p in twin.named_parameters():
        if "lora_" in name:
            p.data = p.data.float()  # as add_lora trains them: fp32 adapter on a bf16 base
    return twin


def loss_and_grads(unet, scheduler, dtype, *, lean: bool, seed: int = 7, side: int = 16):
    params = [p for n, p in unet.named_parameters() if "lora_" in n]
    g = torch.Generator().manual_seed(seed)
    latents, embeddings = torch.randn(2, 4, side, side, generator=g), torch.randn(2, 77, 32, generator=g)
    noise, timesteps = draw_noise(latents, g, noise_offset=0.0, num_train_timesteps=1000)
    for p in params:
        p.grad = torch.zeros_like(p)
    lora = LoraWeights(unet, dtype)
    lora.refresh()
    forwards = lean_forwards(unet, lora) if lean else {}
    with installed(forwards):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
            loss = denoising_loss(unet, scheduler, latents.to(dtype), embeddings.to(dtype), noise.to(dtype),
                                  timesteps, prediction_type="epsilon", min_snr_gamma=5.0)
        loss.backward()
    if lean:
        lora.gradients_to_params()
    return loss.item(), torch.cat([p.grad.flatten() for p in params])


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def test_lean_step_equals_the_plain_step_in_fp32(adapted):
    unet, scheduler = adapted
    plain_loss, plain = loss_and_grads(unet, scheduler, torch.float32, lean=False)
    lean_loss, lean = loss_and_grads(unet, scheduler, torch.float32, lean=True)
    assert abs(lean_loss - plain_loss) / plain_loss < 1e-5
    assert rel(lean, plain) < 1e-4
    lora_a = [p for n, p in unet.named_parameters() if "lora_A" in n]
    assert all(p.grad.abs().sum() > 0 for p in lora_a), "lora_A must learn here (lora_B is non-zero)"
    assert not any("forward" in vars(m) for m in unet.modules()), "the UNet's own forwards are back"


def test_lean_bf16_step_is_as_accurate_as_the_plain_bf16_step(adapted):
    """Two bf16 steps differ by bf16 rounding (2.6e-2 here); what matters is the distance to the fp32 step."""
    unet, scheduler = adapted
    ref_loss, ref = loss_and_grads(unet, scheduler, torch.float32, lean=False)
    twin = bf16_copy(unet)
    plain_loss, plain = loss_and_grads(twin, scheduler, torch.bfloat16, lean=False)
    lean_loss, lean = loss_and_grads(twin, scheduler, torch.bfloat16, lean=True)
    assert abs(lean_loss - plain_loss) / plain_loss < 1e-2
    assert rel(lean, ref) <= 1.1 * rel(plain, ref), (rel(lean, ref), rel(plain, ref))
    assert rel(lean, plain) < 5e-2  # fast_step.CHECK_TOLERANCE_LOW_PRECISION


def test_a_broken_lean_layer_is_visible(adapted, monkeypatch):
    """The comparison above can fail: a LoRA gradient off by 10x is far outside the tolerance."""
    from lora_studio import lean_layers

    unet, scheduler = adapted
    _, plain = loss_and_grads(unet, scheduler, torch.float32, lean=False)
    backward = lean_layers._LoraLinear.backward

    def wrong(ctx, grad):
        out = list(backward(ctx, grad))
        out[3] = out[3] * 10  # lora_A's gradient
        return tuple(out)

    monkeypatch.setattr(lean_layers._LoraLinear, "backward", staticmethod(wrong))
    _, lean = loss_and_grads(unet, scheduler, torch.float32, lean=True)
    assert rel(lean, plain) > 0.5


def train_curve(unet, scheduler, *, lean: bool, data_seed: int, steps: int = 200) -> list[float]:
    """`steps` bf16 AdamW steps on a fixed small dataset; the noise and timesteps come from `data_seed`."""
    model = bf16_copy(unet)
    params = [p for n, p in model.named_parameters() if "lora_" in n]
    optimizer = torch.optim.AdamW(params, lr=1e-3)
    g = torch.Generator().manual_seed(0)
    data = [(torch.randn(1, 4, 8, 8, generator=g), torch.randn(1, 77, 32, generator=g)) for _ in range(4)]
    lora = LoraWeights(model, torch.bfloat16)
    forwards = lean_forwards(model, lora) if lean else {}
    gen = torch.Generator().manual_seed(data_seed)
    losses = []
    for step in range(steps):
        latents, embeddings = data[step % len(data)]
        noise, timesteps = draw_noise(latents, gen, noise_offset=0.0, num_train_timesteps=1000)
        for p in params:
            p.grad = torch.zeros_like(p)
        lora.refresh()
        with installed(forwards) if lean else contextlib.nullcontext():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = denoising_loss(model, scheduler, latents.bfloat16(), embeddings.bfloat16(),
                                      noise.bfloat16(), timesteps, prediction_type="epsilon", min_snr_gamma=5.0)
            loss.backward()
        if lean:
            lora.gradients_to_params()
        optimizer.step()
        losses.append(loss.item())
    return losses


def windows(curve: list[float], size: int = 25) -> torch.Tensor:
    return torch.tensor(curve).reshape(-1, size).mean(dim=1)


@pytest.mark.slow
def test_200_step_loss_curve_is_within_the_plain_steps_run_to_run_noise(adapted):
    unet, scheduler = adapted
    with torch.no_grad():
        for name, p in unet.named_parameters():
            if "lora_B" in name:
                p.zero_()  # a fresh adapter, as training starts
    plain = windows(train_curve(unet, scheduler, lean=False, data_seed=1))
    other_run = windows(train_curve(unet, scheduler, lean=False, data_seed=2))
    lean = windows(train_curve(unet, scheduler, lean=True, data_seed=1))
    noise = float((plain - other_run).abs().mean())
    assert noise > 0
    assert float((lean - plain).abs().mean()) <= noise, (lean, plain, other_run)
