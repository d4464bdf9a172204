"""Speakers from speaker embeddings: one voice or several, and which window is whose.

* :func:`split_similarity`: how alike the two halves of the best 2-way split of a recording's windows sound;
  one voice split in two stays alike. :mod:`multiemo.conversations.diarization` calls a recording one speaker
  above a threshold.
* :func:`agglomerative_labels`: average-linkage agglomeration on cosine distance, merging below a threshold.
* :func:`centred`: embeddings less their recording mean, what every window shares (the line, the room).

Spectral clustering with an eigengap count, a minimum speaker share and Viterbi smoothing of window labels
were tried on the development protocol and did not help there (BENCHMARKS.md); they are not kept.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage


def centred(embeddings: np.ndarray) -> np.ndarray:
    """(N, D) embeddings less their mean (what every window of a recording shares: channel, room), unit
    norm."""
    out = embeddings - embeddings.mean(0)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def split_similarity(embeddings: np.ndarray) -> float:
    """Cosine similarity of the mean embeddings of the two halves of the best 2-way split of (N, D) windows.

    The split is average linkage on the centred vectors; one voice split in two leaves halves that sound alike
    (the measure stays high), two voices do not.
    """
    if len(embeddings) < 2:
        return 1.0
    labels = agglomerative_labels(centred(embeddings), 1.0, 2, num_speakers=2)
    if labels.max() < 1:
        return 1.0
    means = np.stack([embeddings[labels == k].mean(0) for k in range(2)])  # (2, D)
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    return float(means[0] @ means[1])


def agglomerative_labels(vectors: np.ndarray, threshold: float, max_speakers: int,
                         num_speakers: int | None = None) -> np.ndarray:
    """(N,) labels of (N, D) vectors by average linkage on cosine distance: ``num_speakers`` clusters, or
    merging while the distance is below ``threshold`` (at most ``max_speakers``)."""
    tree = linkage(vectors, method="average", metric="cosine")
    if num_speakers is not None:
        labels = fcluster(tree, t=min(num_speakers, len(vectors)), criterion="maxclust")
    else:
        labels = fcluster(tree, t=threshold, criterion="distance")
        if labels.max() > max_speakers:
            labels = fcluster(tree, t=max_speakers, criterion="maxclust")
    return (labels - 1).astype(np.int64)
