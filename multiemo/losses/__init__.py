"""Training losses of MultiEMO: cross-entropy, SWFC (contrastive), Soft-HGR (cross-modal correlation).

:data:`~multiemo.losses.registry.LOSSES` holds each loss by name: how it is built, applied and weighed.
The loss modules (torch) are imported when first named here, so that the registry reads without torch.
"""

from multiemo.losses.registry import LOSSES, Loss, register_loss, unregister_loss

__all__ = ["LOSSES", "Loss", "SWFCLoss", "SoftHGRLoss", "register_loss", "unregister_loss"]


def __getattr__(name: str):
    if name == "SWFCLoss":
        from multiemo.losses.swfc import SWFCLoss

        return SWFCLoss
    if name == "SoftHGRLoss":
        from multiemo.losses.softhgr import SoftHGRLoss

        return SoftHGRLoss
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
