"""Multi-process data-parallel helpers for ``torchrun`` (gloo on CPU, nccl on GPU), on one
machine or several (a c10d rendezvous: every machine runs the same ``torchrun`` command).

Gradients are averaged with one all-reduce per parameter after ``backward`` (no
``DistributedDataParallel`` wrapper, so losses may call the model several times per step), and
in-batch-negative losses gather embeddings from every process with a gather whose backward
sends each process the gradient of its own rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import torch
import torch.distributed as dist
from torch import Tensor, nn


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes (0, 1 outside ``torchrun``)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_from_env(backend: str = "gloo") -> bool:
    """Join the process group if launched by ``torchrun`` (WORLD_SIZE > 1), on one machine
    (``--standalone``) or several (``--nnodes N --rdzv-backend c10d --rdzv-endpoint HOST:PORT``).

    With ``nccl`` each process takes the GPU numbered by its ``LOCAL_RANK``, so ``cuda`` means
    that process's own GPU on every machine.

    :param backend: ``gloo`` (CPU) or ``nccl`` (GPU).
    :return: True when running distributed.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if backend == "nccl" and torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return True


def gather_tensor(x: Tensor) -> Tensor:
    """All processes' ``x`` concatenated along dim 0 in rank order (no gradient)."""
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.rows = len(x)
        return gather_tensor(x)  # (W * B, D)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)  # every process's loss depends on every row: sum their gradients
        rank = dist.get_rank()
        return grad[rank * ctx.rows : (rank + 1) * ctx.rows]  # (B, D): this process's rows


def gather_with_grad(x: Tensor) -> Tensor:
    """Like :func:`gather_tensor`, but differentiable: the gradient of every process's loss
    with respect to this process's rows comes back here. Needs equal ``len(x)`` on all ranks.

    :param x: (B, D) local rows.
    :return: (W * B, D) rows of all processes, in rank order.
    """
    return _GatherWithGrad.apply(x)


def average_gradients(params: Iterable[nn.Parameter]) -> None:
    """All-reduce and average the ``.grad`` of each parameter over the processes."""
    world = dist.get_world_size()
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad.div_(world)


def broadcast_parameters(module: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every process (identical start)."""
    for t in [*module.parameters(), *module.buffers()]:
        dist.broadcast(t.data, src=0)
