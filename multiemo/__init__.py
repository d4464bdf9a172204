"""multiemo: multimodal emotion recognition in conversations (MultiEMO, Shi & Huang, ACL 2023)."""

__version__ = "0.1.0"
