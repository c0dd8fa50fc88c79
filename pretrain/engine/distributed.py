"""Everything distributed, in one place: torchrun's environment, the process
group, and the few collective operations the trainer and the evaluator need.

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; without them the
run is a single process and every helper here is a no-op. The backend is gloo
on CPU and nccl on CUDA. Only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from harnesskit.errors import HarnessError


@dataclass(frozen=True)
class Dist:
    """This process's place in the run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        """True on the one process that writes checkpoints, logs and plots."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1


def setup(device: str | None = None) -> Dist:
    """Read torchrun's environment and initialise the process group if there is one."""
    import torch

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
    if world == 1:
        return Dist(device=device)
    import torch.distributed as dist

    backend = "nccl" if device.startswith("cuda") else "gloo"
    if device.startswith("cuda"):
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        try:
            dist.init_process_group(backend=backend)
        except (RuntimeError, ValueError) as exc:
            raise HarnessError(f"cannot join the {backend} process group as rank {rank}: {exc}",
                               hint="launch with torchrun --nproc_per_node N") from None
    return Dist(rank=rank, world_size=world, local_rank=local, device=device)


def teardown(d: Dist) -> None:
    """Leave the process group (a no-op for single-process runs)."""
    if d.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def wrap(module, d: Dist, find_unused: bool = False):  # type: ignore[no-untyped-def]
    """DDP around ``module`` when distributed, else the module itself.

    ``find_unused``: some parameters get no gradient (an objective that skips a head).
    """
    if not d.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [d.local_rank] if d.device.startswith("cuda") else None
    return DDP(module, device_ids=ids, find_unused_parameters=find_unused)


def total(d: Dist, values: list[float]) -> list[float]:
    """Sum floats over all ranks (one all-reduce)."""
    if not d.enabled:
        return values
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64,
                     device=d.device if d.device.startswith("cuda") else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def mean(d: Dist, values: list[float]) -> list[float]:
    """Average floats over all ranks (one all-reduce)."""
    return [v / d.world_size for v in total(d, values)]


def any_true(d: Dist, flag: bool) -> bool:
    """True on every rank if ``flag`` is true on any rank (so all ranks stop together)."""
    return total(d, [1.0 if flag else 0.0])[0] > 0


def barrier(d: Dist) -> None:
    """Wait for every rank (a no-op for one process)."""
    if d.enabled:
        import torch.distributed as dist

        dist.barrier()


def launched() -> bool:
    """True in a process that torchrun started with more than one process in the run."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def gather_objects(d: Dist, obj: object) -> list | None:
    """Every rank's picklable ``obj`` on rank 0, in rank order (None on the other ranks)."""
    if not d.enabled:
        return [obj]
    import torch.distributed as dist

    out: list | None = [None] * d.world_size if d.is_main else None
    dist.gather_object(obj, out, dst=0)
    return out


def broadcast_object(d: Dist, obj: object) -> object:
    """Rank 0's picklable ``obj`` on every rank."""
    if not d.enabled:
        return obj
    import torch.distributed as dist

    box = [obj if d.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]
