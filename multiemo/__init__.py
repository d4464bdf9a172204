"""multiemo: multimodal emotion recognition in conversations (MultiEMO, Shi & Huang, ACL 2023)."""

from multiemo._onednn import bound_kernel_caches

__version__ = "0.1.0"

__all__ = ["bound_kernel_caches"]
