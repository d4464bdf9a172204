"""Training losses of MultiEMO: cross-entropy, SWFC (contrastive), Soft-HGR (cross-modal correlation).

:data:`~multiemo.losses.registry.LOSSES` maps each loss name to how it is built and applied.
"""

from multiemo.losses.registry import LOSSES, LossEntry
from multiemo.losses.softhgr import SoftHGRLoss
from multiemo.losses.swfc import SWFCLoss

__all__ = ["LOSSES", "LossEntry", "SWFCLoss", "SoftHGRLoss"]
