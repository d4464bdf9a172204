"""Training losses of MultiEMO: SWFC (contrastive) and Soft-HGR (cross-modal correlation)."""

from multiemo.losses.softhgr import SoftHGRLoss
from multiemo.losses.swfc import SWFCLoss

__all__ = ["SWFCLoss", "SoftHGRLoss"]
