"""Generation fast path: a pipeline's UNet calls replayed from a CUDA graph per input shape.

Why: a 512 px denoising step runs the UNet once (batch 2 with guidance); issuing its ~1,000 kernels from Python
takes longer than the GPU needs to run them, so the eager loop leaves the GPU idle (README.md "Speed").

Use: `with graphed_unet(pipe.unet): images = pipe(...)`. Inside, each no-grad UNet call with the plain
(sample, timestep, encoder_hidden_states) inputs copies them into static buffers and replays the graph captured for
that shape; anything else (other inputs, autograd, an outer autocast, a CPU UNet) runs the UNet as usual. The first
call of each shape is compared with the eager UNet (relative error < 1e-2); a mismatch or a capture error turns the
graphs off for that UNet with one log line. Graphs read the adapter weights at replay, so a training run's samples
stay current; loading, removing or rescaling adapters (which changes modules or baked-in scales) recaptures.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from dataclasses import dataclass

import torch

from .fast_step import CHECK_TOLERANCE
from .graph_runner import CudaGraphRunner

log = logging.getLogger(__name__)

WARMUP_CALLS = 2
MAX_GRAPHS = 4  # input shapes kept per UNet; one more drops them all (their memory goes back)
_PLAIN_KWARGS = {"timestep_cond", "attention_mask", "cross_attention_kwargs", "added_cond_kwargs",
                 "down_block_additional_residuals", "mid_block_additional_residual",
                 "down_intrablock_additional_residuals", "encoder_attention_mask"}


def adapter_signature(unet: torch.nn.Module) -> tuple:
    """What a captured graph bakes in besides tensor contents: which tensors (by address), adapter scales, modes."""
    layers = tuple(
        (name, tuple(m.active_adapters), tuple(sorted(m.scaling.items())), bool(m.merged), bool(m.disable_adapters))
        for name, m in unet.named_modules() if hasattr(m, "scaling") and hasattr(m, "active_adapters"))
    tensors = tuple((p.data_ptr(), p.dtype, tuple(p.shape)) for p in unet.parameters())
    return layers, hash(tensors), unet.training


@dataclass
class _Captured:
    sample: torch.Tensor
    timestep: torch.Tensor
    context: torch.Tensor
    replay: object
    holder: dict


class UNetGraphs:
    """The graphs of one UNet, keyed by input shapes; `active` turns False for good after a failed check."""

    def __init__(self, runner_factory=CudaGraphRunner) -> None:
        self.runner_factory = runner_factory
        self.runner = runner_factory()
        self.graphs: dict[tuple, _Captured] = {}
        self.signature: tuple | None = None
        self.active = True
        self.errors: list[float] = []  # relative error of each capture's check, for tests and the benchmark

    def begin(self, unet: torch.nn.Module) -> None:
        signature = adapter_signature(unet)
        if signature != self.signature:
            self.drop()
            self.signature = signature

    def drop(self) -> None:
        self.graphs.clear()
        self.runner = self.runner_factory()

    def call(self, eager, sample, timestep, encoder_hidden_states=None, *args, **kwargs):
        plain = (self.active and not args and torch.is_tensor(timestep) and torch.is_tensor(encoder_hidden_states)
                 and not torch.is_grad_enabled() and not torch.is_autocast_enabled(sample.device.type)
                 and all(kwargs.get(k) is None for k in _PLAIN_KWARGS) and set(kwargs) <= _PLAIN_KWARGS | {"return_dict"})
        if not plain:
            return eager(sample, timestep, encoder_hidden_states, *args, **kwargs)
        return_dict = kwargs.get("return_dict", True)
        key = (tuple(sample.shape), sample.dtype, tuple(timestep.shape), timestep.dtype,
               tuple(encoder_hidden_states.shape), encoder_hidden_states.dtype)
        captured = self.graphs.get(key)
        if captured is None:
            output = self._capture(key, eager, sample, timestep, encoder_hidden_states)
        else:
            captured.sample.copy_(sample)
            captured.timestep.copy_(timestep)
            captured.context.copy_(encoder_hidden_states)
            captured.replay()
            output = captured.holder["out"].clone()  # schedulers may keep it; the next replay overwrites the buffer
        if return_dict:
            from diffusers.models.unets.unet_2d_condition import UNet2DConditionOutput

            return UNet2DConditionOutput(sample=output)
        return (output,)

    def _capture(self, key, eager, sample, timestep, context) -> torch.Tensor:
        expected = eager(sample, timestep, context, return_dict=False)[0]
        if len(self.graphs) >= MAX_GRAPHS:
            self.drop()
        try:
            captured = _Captured(sample=sample.clone(), timestep=timestep.to(sample.device).clone(),
                                 context=context.clone(), replay=None, holder={})

            def body() -> None:
                captured.holder["out"] = eager(captured.sample, captured.timestep, captured.context,
                                               return_dict=False)[0]

            self.runner.warmup(body, WARMUP_CALLS)
            captured.replay = self.runner.capture(body)
            captured.replay()
            self.runner.synchronize()
            got, want = (torch.nan_to_num(t.float(), nan=0.0, posinf=0.0, neginf=0.0)
                         for t in (captured.holder["out"], expected))  # random-weight models may overflow fp16
            error = float((got - want).norm() / want.norm().clamp_min(1e-12))
        except Exception as e:  # any capture problem: the eager UNet is always right
            self._turn_off(f"capturing the UNet failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
            return expected
        self.errors.append(error)
        if not error < CHECK_TOLERANCE:
            self._turn_off(f"the UNet graph does not match the eager UNet (relative error {error:.1e})")
            return expected
        self.graphs[key] = captured
        log.debug("generation: UNet graph for %s (relative error %.1e)", key[0], error)
        return expected

    def _turn_off(self, reason: str) -> None:
        log.warning("generation: UNet CUDA graphs off, running the UNet eagerly: %s", reason)
        self.active = False
        self.drop()


_GRAPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def graphs_for(unet: torch.nn.Module, runner_factory=CudaGraphRunner) -> UNetGraphs:
    if unet not in _GRAPHS:
        _GRAPHS[unet] = UNetGraphs(runner_factory)
    return _GRAPHS[unet]


def release_graphs(unet: torch.nn.Module) -> None:
    """Give a UNet's graph memory back (e.g. before training starts on the same GPU)."""
    graphs = _GRAPHS.pop(unet, None)
    if graphs is not None:
        graphs.drop()


@contextlib.contextmanager
def graphed_unet(unet: torch.nn.Module, runner_factory=None):
    """Route `unet`'s calls through per-shape CUDA graphs while the block runs (a no-op off CUDA, unless a runner
    factory such as graph_runner.EagerReplay is given for tests)."""
    routed = getattr(unet.__dict__.get("forward"), "graphs", None)
    if routed is not None:  # already inside graphed_unet(unet): one layer of graphs, never a graph of a graph
        yield routed
        return
    on_cuda = next(unet.parameters()).device.type == "cuda"
    if runner_factory is None and not on_cuda:
        yield None
        return
    graphs = graphs_for(unet, runner_factory or CudaGraphRunner)
    graphs.begin(unet)
    had_own = "forward" in unet.__dict__  # e.g. accelerate's autocast wrapper during training samples
    previous = unet.__dict__.get("forward")
    eager = unet.forward

    def forward(sample, timestep, encoder_hidden_states=None, *args, **kwargs):
        return graphs.call(eager, sample, timestep, encoder_hidden_states, *args, **kwargs)

    forward.graphs = graphs
    unet.forward = forward
    try:
        yield graphs
    finally:
        if had_own:
            unet.forward = previous
        else:
            del unet.forward
