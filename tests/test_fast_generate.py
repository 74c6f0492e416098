"""The generation fast path on a CPU (capture simulated by graph_runner.EagerReplay): same images as the plain
pipeline, recapture when adapters change, eager for anything unusual, one log line when capture fails."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from lora_studio.config import LoraSettings
from lora_studio.fast_generate import graphed_unet, release_graphs
from lora_studio.graph_runner import EagerReplay


@pytest.fixture
def pipe(tiny_pipe):
    from lora_studio.lora import add_lora

    torch.manual_seed(0)
    for p in add_lora(tiny_pipe.unet, LoraSettings(rank=4, alpha=4)):
        with torch.no_grad():
            p.normal_(0, 0.05)
    tiny_pipe.unet.eval()
    yield tiny_pipe
    release_graphs(tiny_pipe.unet)


def render(pipe) -> np.ndarray:
    return pipe(prompt="mychar, smile", negative_prompt="lowres", num_inference_steps=3, guidance_scale=5.0,
                height=64, width=64, generator=torch.Generator().manual_seed(0), output_type="np").images


def test_graphed_unet_gives_the_same_images_and_restores_the_unet(pipe):
    expected = render(pipe)
    with graphed_unet(pipe.unet, runner_factory=EagerReplay) as graphs:
        got = render(pipe)
        again = render(pipe)  # replays the shape captured by the first call
    assert len(graphs.errors) == 1 and graphs.errors[0] < 1e-6 and graphs.graphs
    np.testing.assert_allclose(got, expected, atol=1e-6)
    np.testing.assert_allclose(again, expected, atol=1e-6)
    assert "forward" not in pipe.unet.__dict__, "the UNet keeps a patched forward after the block"


def test_changed_adapter_scale_is_captured_again(pipe):
    with graphed_unet(pipe.unet, runner_factory=EagerReplay) as graphs:
        render(pipe)
    first = graphs.signature
    for module in pipe.unet.modules():
        if hasattr(module, "scaling"):
            module.scaling["default"] = module.scaling["default"] * 2
    expected = render(pipe)
    with graphed_unet(pipe.unet, runner_factory=EagerReplay) as graphs:
        got = render(pipe)
    assert graphs.signature != first and len(graphs.errors) == 2
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_unusual_calls_run_eagerly(pipe):
    sample, context = torch.randn(1, 4, 32, 32), torch.randn(1, 77, 32)
    with graphed_unet(pipe.unet, runner_factory=EagerReplay) as graphs:
        with torch.enable_grad():
            pipe.unet(sample, torch.tensor(10), context)
        with torch.no_grad():
            pipe.unet(sample, torch.tensor(10), context, cross_attention_kwargs={"scale": 0.5})
    assert graphs.errors == [] and not graphs.graphs


class _FailingCapture(EagerReplay):
    def capture(self, fn):
        raise RuntimeError("operation not permitted when stream is capturing")


def test_capture_failure_turns_graphs_off_with_one_log_line(pipe, caplog):
    expected = render(pipe)
    with caplog.at_level(logging.INFO, logger="lora_studio"), graphed_unet(pipe.unet, runner_factory=_FailingCapture) as graphs:
        got = render(pipe)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("lora_studio")]
    assert len(warnings) == 1 and "capturing the UNet failed" in warnings[0]
    assert not graphs.active


def test_off_cuda_without_a_runner_nothing_changes(pipe):
    with graphed_unet(pipe.unet) as graphs:
        assert graphs is None and "forward" not in pipe.unet.__dict__


def test_nested_graphed_unet_is_one_layer_of_graphs(pipe):
    """generate_images enters graphed_unet itself; a caller (the benchmark, a server) may already be inside one."""
    expected = render(pipe)
    with graphed_unet(pipe.unet, runner_factory=EagerReplay) as outer:
        with graphed_unet(pipe.unet, runner_factory=EagerReplay) as inner:
            assert inner is outer
            got = render(pipe)
        assert pipe.unet.__dict__["forward"].graphs is outer, "leaving the inner block must keep the outer routing"
    assert len(outer.errors) == 1 and outer.graphs
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert "forward" not in pipe.unet.__dict__


def test_generate_with_cuda_graphs_off_never_routes_the_unet(pipe, monkeypatch):
    import lora_studio.generate as generate_module
    from lora_studio.generate import GenerateConfig, generate_images

    entered = []
    monkeypatch.setattr(generate_module, "graphed_unet", lambda unet: entered.append(unet) or graphed_unet(unet))
    cfg = GenerateConfig(base="tiny", prompt="mychar", steps=2, seed=1, width=64, height=64)
    on = generate_images(pipe, cfg)
    off = generate_images(pipe, GenerateConfig(**{**cfg.__dict__, "cuda_graphs": False}))
    assert len(entered) == 1
    assert np.array_equal(np.asarray(on[0][0]), np.asarray(off[0][0]))
