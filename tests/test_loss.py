"""The training objective: the target per prediction type, min-SNR weighting, and draws that depend on the seed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from diffusers import DDPMScheduler

from lora_studio.loss import denoising_loss, draw_noise


@pytest.fixture
def scheduler():
    return DDPMScheduler(num_train_timesteps=1000)


def _perfect(target_of):
    """A stand-in UNet that predicts exactly `target_of(noisy, t)`: its loss must be zero."""
    return lambda noisy, t, emb: SimpleNamespace(sample=target_of(noisy, t))


def test_a_unet_that_predicts_the_noise_has_zero_epsilon_loss(scheduler):
    latents, noise = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    t = torch.tensor([10, 900])
    loss = denoising_loss(_perfect(lambda noisy, _t: noise), scheduler, latents, None, noise, t,
                          prediction_type="epsilon", min_snr_gamma=None)
    assert loss.item() == 0.0
    wrong = denoising_loss(_perfect(lambda noisy, _t: torch.zeros_like(noise)), scheduler, latents, None, noise, t,
                           prediction_type="epsilon", min_snr_gamma=None)
    assert wrong.item() == pytest.approx(noise.pow(2).mean().item(), rel=1e-5)


def test_v_prediction_targets_the_velocity(scheduler):
    latents, noise = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    t = torch.tensor([500])
    velocity = scheduler.get_velocity(latents, noise, t)
    assert denoising_loss(_perfect(lambda noisy, _t: velocity), scheduler, latents, None, noise, t,
                          prediction_type="v_prediction", min_snr_gamma=None).item() == 0.0
    assert denoising_loss(_perfect(lambda noisy, _t: noise), scheduler, latents, None, noise, t,
                          prediction_type="v_prediction", min_snr_gamma=None).item() > 0.0


def test_min_snr_weights_each_sample_by_min_snr_gamma_over_snr(scheduler):
    from diffusers.training_utils import compute_snr

    latents, noise = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    t = torch.tensor([5, 990])  # a low-noise step (high SNR, weighted down) and a high-noise one (weight 1)
    zero = _perfect(lambda noisy, _t: torch.zeros_like(noisy))
    plain = [denoising_loss(zero, scheduler, latents[i:i + 1], None, noise[i:i + 1], t[i:i + 1],
                            prediction_type="epsilon", min_snr_gamma=None).item() for i in range(2)]
    snr = compute_snr(scheduler, t)
    expected = sum(p * min(s.item(), 5.0) / s.item() for p, s in zip(plain, snr, strict=True)) / 2
    got = denoising_loss(zero, scheduler, latents, None, noise, t, prediction_type="epsilon", min_snr_gamma=5.0)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    assert snr[0] > 5.0 > snr[1]


def test_draws_come_from_the_generator_alone():
    latents = torch.zeros(2, 4, 8, 8)
    a = draw_noise(latents, torch.Generator().manual_seed(3), noise_offset=0.0, num_train_timesteps=1000)
    b = draw_noise(latents, torch.Generator().manual_seed(3), noise_offset=0.0, num_train_timesteps=1000)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    offset = draw_noise(latents, torch.Generator().manual_seed(3), noise_offset=0.1, num_train_timesteps=1000)
    shift = offset[0] - a[0]  # offset noise adds one value per picture and channel, the same at every pixel
    assert shift.abs().max() > 0 and torch.allclose(shift, shift[:, :, :1, :1].expand_as(shift), atol=1e-6)
    assert a[1].min() >= 0 and a[1].max() < 1000
