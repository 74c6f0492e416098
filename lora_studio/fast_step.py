"""The training step as an object: on a CUDA GPU the whole step (forward, backward, clipping, AdamW) is
captured once per batch shape as a CUDA graph and then replayed, so Python stops issuing ~2,000 kernels a step.

Why: at batch 1 the eager step of an SD1.5 UNet spends ~130 of its ~160 ms in Python launching kernels while the
GPU waits (measured on one data-center GPU: the same step replayed as one graph took 30.6 ms); a replayed graph
launches them all at once. README.md "Speed" says what runs where.

What stays exactly as in train.py's eager step:
- the randomness: noise and timesteps are drawn from the step's generator *outside* the graph, with the calls and
  order of `loss.diffusion_loss`, then copied into static buffers, so a resumed run draws what it always drew;
- the math: inside the graph the UNet runs its lean layers (lean_layers.py: fewer kernels, fewer saved
  activations). On first use of each batch shape a replay and the plain eager step (peft + autocast) run from the
  same state on inputs the capture never saw, with lora_B non-zero (step_check.py), and loss and adapter gradients
  must agree; then the real first step runs eagerly. A mismatch or any error while capturing or checking (out of
  memory included) falls back to eager steps with one log line;
- the learning rate: a device tensor read by the fused AdamW kernel at every replay, refreshed from the
  optimizer's float lr first (the LR scheduler, logs and checkpoints keep seeing floats);
- a NaN/inf loss skips the update inside the graph (AdamW's found_inf), and train.py then stops as it does today.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import torch

from .captured_step import (
    ShapeGraph,
    graph_optimizer,
    graph_safe_checkpointing,
    lora_input_casts_off,
    static_buffers,
)
from .graph_runner import CudaGraphRunner
from .lean_layers import LoraWeights, installed, lean_forwards
from .loss import denoising_loss, draw_noise
from .step_check import (
    CHECK_SEED,
    CHECK_TOLERANCE,
    CHECK_TOLERANCE_LOW_PRECISION,
    Snapshot,
    StepCheck,
    probe_state,
    rel_err,
    restore,
    take_snapshot,
)
from .text import Text

log = logging.getLogger("lora_studio.train")

FAST_STEP_MODES = ("auto", "eager", "cuda_graph", "compile")
WARMUP_STEPS = 3  # eager runs before capture: lazy optimizer state, cuDNN/cuBLAS choices, torch.compile
MAX_SHAPES = 16  # batch shapes with their own graph; further shapes run eagerly


# ---------------------------------------------------------------- eligibility


def ineligible_reason(cfg, *, optimizer, world_size: int = 1) -> Text | None:
    """Why the graph path cannot run this config (None: it can). The device is checked separately."""
    t = cfg.train
    if world_size > 1:
        return Text("fast.processes", n=world_size)
    if t.gradient_accumulation_steps != 1:
        return Text("fast.accumulation")
    if t.mixed_precision == "fp16":
        return Text("fast.fp16")
    if cfg.lora.dropout:
        return Text("fast.dropout")
    inner = getattr(optimizer, "optimizer", optimizer)
    if t.optimizer != "adamw" or not isinstance(inner, torch.optim.AdamW):
        return Text("fast.optimizer", optimizer=t.optimizer)
    if not all(group.get("fused") for group in inner.param_groups):
        return Text("fast.not_fused")
    if getattr(inner, "grad_scale", None) is not None or getattr(inner, "found_inf", None) is not None:
        return Text("fast.scaler")
    return None


# ---------------------------------------------------------------- the step object


class TrainStep:
    """Call with (latents, embeddings, generator) for one whole step. Returns the loss when this object did the
    step (graph replay, or its eager check/fallback step), or None when the caller should run its eager step
    (CPU, an ineligible config, train.fast_step=eager, after a fallback). Decides before drawing any noise."""

    def __init__(self, unet: torch.nn.Module, optimizer, params: list[torch.nn.Parameter], noise_scheduler, cfg, *,
                 prediction_type: str, device: torch.device | str, weight_dtype: torch.dtype = torch.float32,
                 world_size: int = 1, mode: str | None = None, runner=None, channels_last: bool = False,
                 autocast: Callable | None = None, forward: Callable | None = None) -> None:
        """`autocast(dtype)` replaces torch.autocast (the step census reproduces CUDA's on the meta device);
        `forward(noisy, timesteps, embeddings)` replaces the UNet call inside the captured step."""
        self.unet, self.params, self.noise_scheduler, self.cfg = unet, list(params), noise_scheduler, cfg
        self.optimizer = getattr(optimizer, "optimizer", optimizer)  # torch's own, inside accelerate's wrapper
        self.prediction_type = prediction_type
        self.device = torch.device(device)
        self.autocast_dtype = weight_dtype if weight_dtype in (torch.float16, torch.bfloat16) else None
        self._autocast_factory = autocast
        self.mode = mode or getattr(cfg.train, "fast_step", "auto")
        self.checks: list[StepCheck] = []
        self._shapes: dict[tuple, ShapeGraph] = {}
        self._grads: list[torch.Tensor] = []
        self._probe: tuple | None = None
        self._told_too_many = False
        self.active, reason = self._decide(optimizer, world_size, runner)
        if not self.active:
            log.info("%s", Text("log.step_eager", reason=reason))
            return
        self.runner = runner or CudaGraphRunner()
        self._lrs = [torch.tensor(float(g["lr"]), dtype=torch.float32, device=self.device)
                     for g in self.optimizer.param_groups]
        self._lean = LoraWeights(unet, self.autocast_dtype or torch.float32)
        self._lean_forwards = lean_forwards(unet, self._lean)
        lean = set(self._lean.layers)
        self._lora_layers = [m for m in unet.modules() if hasattr(m, "cast_input_dtype_enabled") and m not in lean]
        lean_params = set() if self._lean.same_dtype else {id(p) for p in self._lean.params}
        self._accumulated = [i for i, p in enumerate(self.params) if id(p) not in lean_params]
        # without accelerate's autocast wrapper
        forward = forward or getattr(unet, "_original_forward", None) or unet.forward
        self._graph_forward = torch.compile(forward, dynamic=False) if self.mode == "compile" else forward
        if getattr(unet, "is_gradient_checkpointing", False):
            unet.enable_gradient_checkpointing(gradient_checkpointing_func=graph_safe_checkpointing)
        self.channels_last = channels_last
        if channels_last:
            for module in unet.modules():
                if isinstance(module, torch.nn.Conv2d) and not module.weight.requires_grad:
                    module.weight.data = module.weight.data.contiguous(memory_format=torch.channels_last)
        what = "torch.compile + CUDA graph" if self.mode == "compile" else "CUDA graph"
        log.info("training step: %s per batch shape (train.fast_step=%s), checked against eager on first use",
                 what, self.mode)

    def _decide(self, optimizer, world_size: int, runner) -> tuple[bool, str]:
        if self.mode not in FAST_STEP_MODES:
            return False, Text("fast.unknown_mode", mode=self.mode, modes=", ".join(FAST_STEP_MODES))
        if self.mode == "eager":
            return False, "train.fast_step=eager"
        if runner is None and self.device.type != "cuda":
            return False, Text("log.no_cuda")
        reason = ineligible_reason(self.cfg, optimizer=optimizer, world_size=world_size)
        return reason is None, reason or ""

    # ---------------------------------------------------------------- per step

    def __call__(self, latents: torch.Tensor, embeddings: torch.Tensor, gen: torch.Generator) -> torch.Tensor | None:
        if not self.active:
            return None
        key = (tuple(latents.shape), latents.dtype, tuple(embeddings.shape), embeddings.dtype)
        if key not in self._shapes and len(self._shapes) >= MAX_SHAPES:
            if not self._told_too_many:
                log.info("training step: more than %d batch shapes; new shapes run eagerly", MAX_SHAPES)
                self._told_too_many = True
            return None
        t = self.cfg.train
        noise, timesteps = draw_noise(latents, gen, noise_offset=t.noise_offset,
                                      num_train_timesteps=self.noise_scheduler.config.num_train_timesteps)
        if self._shapes and self._probe != self._state_probe():
            # Someone replaced the optimizer state or the parameters (load_state_dict): the graphs point at the old ones.
            log.info("training step: optimizer state was replaced; capturing again")
            self._shapes.clear()
            self.runner = type(self.runner)()
        shape = self._shapes.get(key)
        if shape is None:
            return self._first_step(key, latents, embeddings, noise, timesteps)
        shape.latents.copy_(latents)
        shape.embeddings.copy_(embeddings)
        shape.noise.copy_(noise)
        shape.timesteps.copy_(timesteps)
        self._refresh_lr()
        shape.replay()
        return shape.loss.clone()

    def eager_step(self, latents: torch.Tensor, embeddings: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """train.py's eager step (draws, loss, backward, clip, AdamW, zero_grad); the benchmark's eager row."""
        t = self.cfg.train
        noise, timesteps = draw_noise(latents, gen, noise_offset=t.noise_offset,
                                      num_train_timesteps=self.noise_scheduler.config.num_train_timesteps)
        return self._reference_step(latents, embeddings, noise, timesteps)[0]

    # ---------------------------------------------------------------- capture and check

    def _first_step(self, key, latents, embeddings, noise, timesteps) -> torch.Tensor:
        """Capture this batch shape, check the replay against the plain eager step, then take the real step eagerly.
        Any failure (capture, mismatch, out of memory in the check) falls back to eager steps with one log line."""
        snapshot = self._snapshot()
        try:
            shape = static_buffers(latents, embeddings, noise, timesteps, channels_last=self.channels_last)
            self._static_grads()
            self._refresh_lr()
            self.runner.warmup(lambda: self._static_step(shape), WARMUP_STEPS)
            self._restore(snapshot)
            shape.replay = self.runner.capture(lambda: self._static_step(shape))
            self._restore(snapshot)  # capture runs nothing on a GPU; EagerReplay and safety say restore anyway
            check = self._check(shape, snapshot)
        except Exception as e:  # any capture or check problem, out of memory included: the eager step is right
            self._restore(snapshot)
            self._fall_back(f"capturing or checking the step failed: {type(e).__name__}: "
                            f"{(str(e).splitlines() or [''])[0][:200]}")
            return self._reference_step(latents, embeddings, noise, timesteps)[0]
        self._restore(snapshot)
        if check is None or not check.ok:
            self.checks += [check] if check else []
            why = check.describe() if check else "a non-finite loss on the check's inputs"
            self._fall_back(f"the graph step does not match the eager step ({why})")
            return self._reference_step(latents, embeddings, noise, timesteps)[0]
        self.checks.append(check)
        loss, _ = self._reference_step(latents, embeddings, noise, timesteps)
        if not torch.isfinite(loss):
            return loss  # train.py stops with its NaN advice
        self._shapes[key] = shape
        self._probe = self._state_probe()
        self._static_grads()  # the graph's gradient buffers; the next replay zeroes them first
        log.info("training step: captured batch shape %s; replay matches eager (%s)", check.shape, check.describe())
        return loss

    def _check(self, shape: ShapeGraph, snapshot: Snapshot) -> StepCheck | None:
        """Replay vs the plain eager step from the same state, on inputs the capture never saw and with every lora_B
        non-zero (at step 1 lora_B is zero, so lora_A's gradients are zero in both paths and any error there would
        pass). Leaves the state as `snapshot` had it and frees what the eager step allocated. None: non-finite."""
        gen = torch.Generator(device=shape.latents.device).manual_seed(CHECK_SEED)
        fresh = [torch.randn(t.shape, generator=gen, device=t.device).to(t.dtype)
                 for t in (shape.latents, shape.embeddings, shape.noise)]
        steps = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, shape.timesteps.shape,
                              generator=gen, device=shape.timesteps.device)
        for buffer, value in zip((shape.latents, shape.embeddings, shape.noise, shape.timesteps), (*fresh, steps),
                                 strict=True):
            buffer.copy_(value)
        probe = probe_state(snapshot, gen)
        self._restore(probe)
        shape.replay()
        self.runner.synchronize()
        graph_loss = float(shape.loss)
        graph_grads = [g.clone() for g in self._grads]
        graph_update = [p.detach() - q for p, q in zip(self.params, probe.params, strict=True)]
        self._restore(probe)
        loss, grads = self._reference_step(*fresh, steps)
        if not torch.isfinite(loss):
            return None
        update = [p.detach() - q for p, q in zip(self.params, probe.params, strict=True)]
        self._static_grads()  # the eager step set the gradients to None; the graph's buffers go back
        self._restore(probe)
        probe_update, probe_expected = self._optimizer_probe(shape, probe)
        check = StepCheck(shape=tuple(shape.latents.shape), loss_eager=float(loss), loss_graph=graph_loss,
                          loss_rel_err=abs(graph_loss - float(loss)) / max(abs(float(loss)), 1e-12),
                          grad_rel_err=rel_err(graph_grads, grads),
                          update_rel_err=rel_err(graph_update, update),
                          optimizer_rel_err=rel_err(probe_update, probe_expected),
                          tolerance=self._tolerance())
        del grads, graph_grads, graph_update, update, probe_update, probe_expected, fresh
        self._restore(snapshot)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()  # the eager step's blocks are not kept reserved beside the graph's pool
        return check

    def _tolerance(self) -> float:
        return CHECK_TOLERANCE if self.autocast_dtype is None else CHECK_TOLERANCE_LOW_PRECISION

    def _optimizer_probe(self, shape: ShapeGraph, snapshot: Snapshot) -> tuple[list, list]:
        """One replay at half the learning rate, then eager AdamW from the same state on the gradients that replay
        made: (graph update, eager update). Leaves parameters and optimizer state as `snapshot` had them."""
        groups = self.optimizer.param_groups
        lrs = [group["lr"] for group in groups]
        for lr_tensor, lr in zip(self._lrs, lrs, strict=True):
            lr_tensor.fill_(0.5 * float(lr))
        shape.replay()
        self.runner.synchronize()
        graph_update = [p.detach() - s for p, s in zip(self.params, snapshot.params, strict=True)]
        grads = [g.clone() for g in self._grads]
        self._restore(snapshot)
        for param, grad in zip(self.params, grads, strict=True):
            param.grad = grad
        for group, lr in zip(groups, lrs, strict=True):
            group["lr"] = 0.5 * float(lr)
        try:
            self.optimizer.step()
        finally:
            for group, lr in zip(groups, lrs, strict=True):
                group["lr"] = lr
            self._refresh_lr()
        expected = [p.detach() - s for p, s in zip(self.params, snapshot.params, strict=True)]
        self._restore(snapshot)
        self._static_grads()
        return graph_update, expected

    def _fall_back(self, reason: str) -> None:
        log.warning("training step: falling back to eager steps: %s", reason)
        self.active = False
        self._shapes.clear()
        self._grads = []
        for param in self.params:
            param.grad = None
        self.runner = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()  # the graphs' pool and the check's blocks go back

    def _static_grads(self) -> None:
        if not self._grads:
            self._grads = [torch.zeros_like(p) for p in self.params]
        for param, grad in zip(self.params, self._grads, strict=True):
            param.grad = grad

    def _refresh_lr(self) -> None:
        for lr, group in zip(self._lrs, self.optimizer.param_groups, strict=True):
            lr.fill_(float(group["lr"]))

    def _state_probe(self) -> tuple:
        first = self.params[0]
        state = self.optimizer.state.get(first, {})
        return first.data_ptr(), id(state.get("exp_avg")), id(state.get("step"))

    def _autocast(self, cache_enabled: bool):
        if self._autocast_factory is not None and self.autocast_dtype is not None:
            return self._autocast_factory(self.autocast_dtype)
        return torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.float32,
                              enabled=self.autocast_dtype is not None, cache_enabled=cache_enabled)

    def _static_step(self, s: ShapeGraph) -> None:
        """The captured step: only device work, no reads back to the CPU, all tensors static. The UNet runs its lean
        layers (lean_layers.py): LoRA weights cast in and gradients copied out with one foreach op each."""
        accumulated = [self._grads[i] for i in self._accumulated]  # the lean LoRA layers' gradients are copied in
        if accumulated:
            torch._foreach_zero_(accumulated)
        self._lean.refresh()
        casts_off = lora_input_casts_off(self._lora_layers) if self.autocast_dtype else contextlib.nullcontext()
        with casts_off, installed(self._lean_forwards):  # backward too: checkpointing recomputes the forward
            with self._autocast(cache_enabled=False):  # autocast's weight cache must stay out of graphs
                loss = denoising_loss(self._graph_forward, self.noise_scheduler, s.latents, s.embeddings, s.noise,
                                      s.timesteps, prediction_type=self.prediction_type,
                                      min_snr_gamma=self.cfg.train.min_snr_gamma)
            loss.backward()
        self._lean.gradients_to_params()
        if self.cfg.train.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg.train.max_grad_norm)
        s.found_inf.copy_(torch.logical_not(torch.isfinite(loss.detach())).float())
        with graph_optimizer(self.optimizer, self._lrs, s.found_inf):
            self.optimizer.step()
        s.loss.copy_(loss.detach())

    def _reference_step(self, latents, embeddings, noise, timesteps) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The eager step as train.py runs it: accelerate's forward, backward, clip, optimizer.step, grads to None.
        Returns the loss and the (clipped) gradients the update used. A non-finite loss changes nothing."""
        for param in self.params:
            param.grad = None
        with self._autocast(cache_enabled=True):
            loss = denoising_loss(self.unet, self.noise_scheduler, latents, embeddings, noise, timesteps,
                                  prediction_type=self.prediction_type, min_snr_gamma=self.cfg.train.min_snr_gamma)
        if not torch.isfinite(loss):
            return loss, []
        loss.backward()
        if self.cfg.train.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg.train.max_grad_norm)
        grads = [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in self.params]
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.detach(), grads

    # ---------------------------------------------------------------- state snapshots for warm-up and checks

    def _snapshot(self) -> Snapshot:
        return take_snapshot(self.params, self.optimizer)

    def _restore(self, snap: Snapshot) -> None:
        restore(snap, self.params, self.optimizer)
