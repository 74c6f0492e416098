"""The first-use check of a captured training step: its tolerances, its result, and the parameter + optimizer
snapshots it compares from (fast_step.TrainStep runs it).

The check has to be able to fail where it matters: it replays on inputs the capture never saw and with every
all-zero adapter tensor (lora_B at step 1) filled with small random values, so lora_A's gradients are non-zero in
both paths; a graph computing them wrong is then visible (tests/test_fast_step.py injects one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

CHECK_TOLERANCE = 1e-2  # fp32 graph vs eager: loss and gradients agree far better than this unless something broke
# bf16: the lean layers round differently from the plain autocast step. On the tiny UNet the plain bf16 step's own
# gradients are 3.1e-2 (rel) from fp32 and the lean step's 3.0e-2, 2.6e-2 apart: a 1e-2 gate would reject a step as
# accurate as the reference. Broken steps (a 3x or 10x gradient, a skipped update) are off by 0.5 or more.
CHECK_TOLERANCE_LOW_PRECISION = 5e-2
CHECK_SEED = 20261206  # the check's own inputs and probe weights: never the step's generator


@dataclass
class StepCheck:
    """Graph replay vs the plain eager step from the same state, on fresh inputs (first step of one batch shape)."""

    shape: tuple[int, ...]
    loss_eager: float
    loss_graph: float
    loss_rel_err: float
    grad_rel_err: float
    update_rel_err: float  # reported, not gated: Adam's first update amplifies bf16 noise in tiny gradients
    # The graph's AdamW update vs eager AdamW applied to the graph's own gradients, at a learning rate the capture
    # never saw: catches a skipped update, stale optimizer-state pointers or a learning rate baked into the graph.
    optimizer_rel_err: float = 0.0
    tolerance: float = CHECK_TOLERANCE

    @property
    def ok(self) -> bool:
        return max(self.loss_rel_err, self.grad_rel_err, self.optimizer_rel_err) < self.tolerance

    def describe(self) -> str:
        return (f"loss rel err {self.loss_rel_err:.1e}, grad rel err {self.grad_rel_err:.1e}, "
                f"optimizer rel err {self.optimizer_rel_err:.1e}, update rel err {self.update_rel_err:.1e}")


@dataclass
class Snapshot:
    """Adapter parameters and AdamW state at one moment."""

    params: list[torch.Tensor]
    state: dict = field(default_factory=dict)


def rel_err(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    """|a - b| / |b| over lists of tensors (0 when equal)."""
    diff = sum(float((x.float() - y.float()).norm()) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5
    ref = sum(float(y.float().norm()) ** 2 for y in b) ** 0.5
    return 0.0 if diff == 0 else diff / max(ref, 1e-30)


def take_snapshot(params: list[torch.Tensor], optimizer) -> Snapshot:
    snap = Snapshot(params=[p.detach().clone() for p in params])
    for param in params:
        state = optimizer.state.get(param)
        if state:
            snap.state[param] = {k: v.clone() for k, v in state.items() if torch.is_tensor(v)}
    return snap


@torch.no_grad()
def restore(snap: Snapshot, params: list[torch.Tensor], optimizer) -> None:
    """Put parameters and AdamW state back; state created by the warm-up is zeroed, which AdamW reads exactly
    as 'no state yet' (step 0, zero moments)."""
    for param, value in zip(params, snap.params, strict=True):
        param.copy_(value)
    for param in params:
        state = optimizer.state.get(param)
        saved = snap.state.get(param, {})
        for k, v in (state or {}).items():
            if torch.is_tensor(v) and k in saved:
                v.copy_(saved[k])
            elif torch.is_tensor(v):
                v.zero_()


def probe_state(snapshot: Snapshot, gen: torch.Generator) -> Snapshot:
    """The snapshot with every all-zero adapter tensor (lora_B at the start) filled with small random values."""
    params = []
    for value in snapshot.params:
        if not bool(value.any()):
            value = 0.02 * torch.randn(value.shape, generator=gen, device=value.device).to(value.dtype)
        params.append(value)
    return Snapshot(params=params, state=snapshot.state)
