"""How a captured step or UNet call is recorded and replayed: CUDA graphs on a GPU, plain re-execution in tests.

Both fast paths (fast_step for training, fast_generate for generation) warm up, capture once per shape and
replay; a runner is the only part that needs a GPU, so the rest of their logic runs (and is tested) on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


class CudaGraphRunner:
    """Warm up on a side stream, capture into CUDA graphs that share one memory pool (one shape runs at a time)."""

    def __init__(self) -> None:
        self.pool = None
        self.graphs: list = []

    def warmup(self, fn: Callable[[], None], steps: int) -> None:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(steps):
                fn()
        torch.cuda.current_stream().wait_stream(stream)
        torch.cuda.synchronize()
        torch.cuda.empty_cache()  # warm-up blocks cached on the side stream cannot serve the graph's own pool

    def capture(self, fn: Callable[[], None]) -> Callable[[], None]:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool, capture_error_mode="thread_local"):
            fn()
        torch.cuda.synchronize()
        if self.pool is None:
            self.pool = graph.pool()
        self.graphs.append(graph)
        return graph.replay

    def synchronize(self) -> None:
        torch.cuda.synchronize()


class EagerReplay:
    """Stand-in runner for CPU tests: 'capture' records the function without running it, 'replay' runs it.
    Everything around the capture (static buffers, lr tensor, found_inf, self-check, fallback) runs for real."""

    def warmup(self, fn: Callable[[], None], steps: int) -> None:
        for _ in range(steps):
            fn()

    def capture(self, fn: Callable[[], None]) -> Callable[[], None]:
        return fn

    def synchronize(self) -> None:
        pass
