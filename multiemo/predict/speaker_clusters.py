"""Speakers from speaker embeddings: how many, which window is whose, and label smoothing over time.

* :func:`spectral_labels`: spectral clustering of unit-norm d-vectors (Wang et al., ICASSP 2018) with the
  number of speakers read from the eigengap, the affinity pruned as in NME-SC (Park et al., IEEE SPL 2019):
  each row of the cosine affinity keeps its ``p`` strongest entries, for the ``p`` whose normalised largest
  eigengap is widest relative to ``p``; the Laplacian's eigenvectors of the ``k`` smallest eigenvalues are
  then clustered by k-means.
* :func:`agglomerative_labels`: average-linkage agglomeration on cosine distance, merging below a threshold.
* :func:`viterbi_smooth`: relabels windows in time order by the most likely path through speaker states,
  scoring each window by its cosine similarity to each speaker's centroid and paying ``penalty`` per change.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.cluster.vq import kmeans2


def centred(embeddings: np.ndarray) -> np.ndarray:
    """(N, D) embeddings less their mean (what every window of a recording shares: channel, room), unit norm."""
    out = embeddings - embeddings.mean(0)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def mean_similarity(embeddings: np.ndarray) -> float:
    """Mean cosine similarity of each (N, D) unit-norm embedding to the others (from the norm of their mean)."""
    count = len(embeddings)
    mean = embeddings.mean(0)
    return float((count * count * float(mean @ mean) - count) / max(count * (count - 1), 1))


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


def spectral_labels(vectors: np.ndarray, max_speakers: int, num_speakers: int | None = None,
                    min_speakers: int = 1, seed: int = 0) -> np.ndarray:
    """(N,) labels of (N, D) vectors by spectral clustering with an NME-SC eigengap count (module docstring)."""
    count = len(vectors)
    if count < 3:
        return np.zeros(count, np.int64)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    affinity = (unit @ unit.T + 1) / 2  # (N, N) cosine similarity mapped to [0, 1]
    np.fill_diagonal(affinity, 0.0)
    order = np.argsort(-affinity, axis=1)  # (N, N) each row's neighbours, strongest first
    top = min(max_speakers, count - 1)
    best = None
    for p in _neighbour_counts(count):
        pruned = np.zeros_like(affinity)
        rows = np.arange(count)[:, None]
        pruned[rows, order[:, :p]] = affinity[rows, order[:, :p]]
        pruned = (pruned + pruned.T) / 2  # (N, N) symmetric
        values, vectors_p = np.linalg.eigh(np.diag(pruned.sum(1)) - pruned)  # ascending
        gaps = np.diff(values[: top + 1]) / max(values[-1], 1e-12)  # gaps[i]: between k = i + 1 and i + 2
        lo = max(min_speakers, 1) - 1
        k = (num_speakers or int(np.argmax(gaps[lo:]) + 1 + lo)) if len(gaps) > lo else 1
        ratio = p / max(float(gaps[lo:].max()) if len(gaps) > lo else 0.0, 1e-12)
        if best is None or ratio < best[0]:
            best = (ratio, k, vectors_p)
    _, k, eigvectors = best
    k = min(k, count)
    if k == 1:
        return np.zeros(count, np.int64)
    spectral = eigvectors[:, :k]  # (N, k)
    spectral = spectral / np.maximum(np.linalg.norm(spectral, axis=1, keepdims=True), 1e-12)
    _, labels = kmeans2(spectral, k, minit="++", seed=seed)
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def _neighbour_counts(count: int) -> list[int]:
    """Row-wise neighbours kept, tried by NME-SC: 1 to a quarter of the windows (at most 20 values)."""
    high = max(1, count // 4)
    return sorted(set(np.linspace(1, high, num=min(high, 20)).round().astype(int).tolist()))


def viterbi_smooth(vectors: np.ndarray, labels: np.ndarray, penalty: float, temperature: float = 0.1
                   ) -> np.ndarray:
    """(N,) labels of (N, D) vectors in time order, smoothed (module docstring); ``penalty`` 0 changes nothing."""
    classes = int(labels.max()) + 1 if len(labels) else 0
    if penalty <= 0 or classes < 2:
        return labels
    centroids = np.stack([vectors[labels == c].mean(0) for c in range(classes)])  # (C, D)
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    scores = vectors @ centroids.T / temperature  # (N, C)
    scores -= np.logaddexp.reduce(scores, axis=1, keepdims=True)  # log-posteriors
    switch = np.full((classes, classes), -penalty)
    np.fill_diagonal(switch, 0.0)
    total = scores[0].copy()
    back = np.zeros((len(labels), classes), np.int64)
    for t in range(1, len(labels)):  # a recursion over time: each step needs the one before
        candidates = total[:, None] + switch  # (C from, C to)
        back[t] = candidates.argmax(0)
        total = candidates.max(0) + scores[t]
    path = np.zeros(len(labels), np.int64)
    path[-1] = int(total.argmax())
    for t in range(len(labels) - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path
