"""On-disk feature store and the padded dialogue batches built from it."""

from multiemo.data.store import FeatureStore, ModalityInfo, StoreError, write_store

__all__ = ["FeatureStore", "ModalityInfo", "StoreError", "write_store"]
