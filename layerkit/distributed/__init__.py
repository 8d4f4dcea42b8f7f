"""Synchronous data-parallel training over MPI (the Horovod / ChainerMN pattern).

Every rank (process) holds the whole model, computes the gradients of its
share of the batch, the gradients are averaged over the ranks inside the
compiled step, and every rank applies the same update. Run a script under
``mpiexec -n 4 python train.py``; without a launcher (or without mpi4py) the
same script runs as one process. ``docs/distributed.md`` is the guide.

The changes to a Lasagne training loop::

    import layerkit.distributed as dist
    dist.seed(0)                                      # was: layerkit.random.seed(0)
    network = build_network(input_var)
    dist.broadcast_params(network)                    # every rank starts from rank 0's
    grads = dist.allreduce_grads(T.grad(loss, params))
    updates = lasagne.updates.adam(grads, params)     # was: adam(loss, params)
    ... each rank trains on its shard of every batch
        (``layerkit.train.fit(..., distributed=True)`` does the sharding)

Install with ``pip install 'layerkit[mpi]'`` (mpi4py and mpich, which brings
``mpiexec``); an existing MPI (Open MPI, Intel MPI, a cluster's) works the
same through an mpi4py built against it.

cupy gradients are reduced through NCCL, a CUDA-aware MPI or host staging
(:mod:`layerkit.distributed.device`; ``LAYERKIT_DISTRIBUTED_DEVICE_PATH``
asks for one, ``chosen_device_path()`` and ``get_world().describe()`` show
the choice).
"""
from .allreduce import AllreduceMean, allreduce_grads
from .device import DEVICE_PATHS, device_reducer
from .errors import DistributedError, DistributedTimeout, RankExited
from .params import broadcast_params, check_same_params, param_signature
from .seeds import RandomStreams, rank_seed, seed
from .world import World, abort_on_error, get_world, init, is_distributed, rank, shard, size

__all__ = ["World", "get_world", "init", "rank", "size", "is_distributed", "abort_on_error",
           "DistributedError", "DistributedTimeout", "RankExited", "allreduce_grads",
           "AllreduceMean", "broadcast_params", "check_same_params", "param_signature",
           "rank_seed", "seed", "RandomStreams", "shard", "chosen_device_path", "DEVICE_PATHS"]


def chosen_device_path(backend="cupy") -> str:
    """The path (``nccl``, ``cuda-aware-mpi`` or ``host``) that averages ``backend``'s
    gradients (a backend or its name), chosen now if not yet: a collective, so call
    it on every rank. (``get_world().device_path`` is what was asked for, "auto" by
    default; ``get_world().describe()`` gives the reason of the choice too.)"""
    if isinstance(backend, str):
        from ..backend import get_backend
        backend = get_backend(backend)
    return device_reducer(get_world(), backend).name
