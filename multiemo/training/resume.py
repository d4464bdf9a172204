"""What ``last.pt`` holds to resume a run, and putting it back on whatever device the run resumes on.

``last.pt`` is loaded with ``map_location`` = the training device, so its weights and Adam moments land
where the model is. Random-number states are different: ``torch.set_rng_state``, ``Generator.set_state``
and ``torch.cuda.set_rng_state`` take CPU byte tensors only. They are therefore saved as plain bytes, which
no ``map_location`` moves, and restored from CPU tensors (a checkpoint written before that holds tensors:
they are copied to the CPU first).
"""

from __future__ import annotations

import torch


def resume_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler,
                 shuffle: torch.Generator, device: torch.device, state: dict) -> dict:
    """The content of ``last.pt`` after an epoch: weights, optimiser, scheduler, loop ``state`` and the
    RNGs."""
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "shuffle_rng": _bytes(shuffle.get_state()),
        "torch_rng": _bytes(torch.get_rng_state()),
        "cuda_rng": _bytes(torch.cuda.get_rng_state(device)) if device.type == "cuda" else None,
        "state": state,
    }


def restore(ckpt: dict, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler,
            shuffle: torch.Generator, device: torch.device) -> dict:
    """Put a loaded ``last.pt`` back into the run's objects and the RNGs; returns its loop state.

    ``ckpt`` may have been loaded onto any device (``map_location``): weights and optimiser state are copied
    onto the parameters' device by ``load_state_dict``; RNG states are restored from CPU tensors.
    """
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    shuffle.set_state(_cpu_bytes(ckpt["shuffle_rng"]))
    torch.set_rng_state(_cpu_bytes(ckpt["torch_rng"]))
    if device.type == "cuda" and ckpt.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(_cpu_bytes(ckpt["cuda_rng"]), device)
    return ckpt["state"]


def _bytes(rng_state: torch.Tensor) -> bytes:
    return rng_state.numpy().tobytes()  # (S,) uint8 on the CPU, as every get_state returns it


def _cpu_bytes(saved: bytes | torch.Tensor) -> torch.Tensor:
    """(S,) uint8 CPU tensor of a saved RNG state: bytes (since this module) or a tensor (before it)."""
    if isinstance(saved, torch.Tensor):
        return saved.to("cpu", torch.uint8)
    return torch.frombuffer(bytearray(saved), dtype=torch.uint8)
