"""multiemo: multimodal emotion recognition in conversations (MultiEMO, Shi & Huang, ACL 2023)."""

from multiemo._onednn import bound_kernel_caches

__version__ = "0.1.0"

__all__ = ["bound_kernel_caches", "load"]


def __getattr__(name: str):
    # ``multiemo.load(DIR)`` without importing torch and the predict floor when multiemo is imported: the
    # package sits on the ground floor, so it names the function by reference (multiemo.settings.resolve)
    # and resolves it at first use.
    if name == "load":
        from multiemo.settings import resolve

        return resolve("multiemo.predict.export:load")
    raise AttributeError(f"module 'multiemo' has no attribute {name!r}")
