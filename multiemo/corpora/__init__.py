"""Corpus readers: MELD, IEMOCAP and a user's own manifest, each giving one utterance table.

Every reader returns a :class:`Corpus` whose ``table`` follows :mod:`multiemo.corpora.table`.
"""

from multiemo.corpora.corpus import Corpus
from multiemo.corpora.iemocap import IEMOCAP_NAMES, IEMOCAP_SIX, read_iemocap
from multiemo.corpora.manifest import read_manifest
from multiemo.corpora.meld import MELD_LABELS, read_meld
from multiemo.corpora.table import (
    COLUMNS,
    FACE_SIDES,
    SPLITS,
    assign_parties,
    build_table,
    seeded_validation,
    validate_table,
)

__all__ = [
    "COLUMNS",
    "FACE_SIDES",
    "IEMOCAP_NAMES",
    "IEMOCAP_SIX",
    "MELD_LABELS",
    "SPLITS",
    "Corpus",
    "assign_parties",
    "build_table",
    "read_iemocap",
    "read_manifest",
    "read_meld",
    "seeded_validation",
    "validate_table",
]
