"""Face photos for the demo speakers and the per-emotion transform that carries the visual cue.

The photos come with scikit-image: ``astronaut`` (Eileen Collins, NASA, public domain) and the 25x25 grey
faces of ``lfw_subset`` (Labeled Faces in the Wild). Each is cropped or upscaled to a TILE x TILE face
whose mouth sits near MOUTH_XY, so one mouth warp serves every speaker.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy.ndimage import map_coordinates
from skimage import data
from skimage.transform import resize, rotate

from .cues import CHARACTERS, FACE_CUES

TILE = 150
MOUTH_XY = (72.0, 107.0)  # measured with MTCNN landmarks on all six tiles (within about 5 px)
_MOUTH_HALF_WIDTH = 26.0
_ASTRONAUT_CROP = (slice(64, 176), slice(169, 281))  # a tight face crop, framed like the lfw faces


@cache
def face_tile(face: str) -> np.ndarray:
    """The neutral face photo named ``face`` (``"astronaut"`` or ``"lfw:<i>"``).

    Returns:
        (TILE, TILE, 3) float64 RGB in [0, 1], read-only.
    """
    if face == "astronaut":
        tile = resize(data.astronaut()[_ASTRONAUT_CROP] / 255.0, (TILE, TILE), order=3, anti_aliasing=True)
    elif face.startswith("lfw:"):
        grey = resize(data.lfw_subset()[int(face[4:])], (TILE, TILE), order=3)
        skin = next(c.skin for c in CHARACTERS if c.face == face)
        tile = grey[..., None] * np.asarray(skin)
    else:
        raise ValueError(f"unknown face {face!r}: expected 'astronaut' or 'lfw:<index>'")
    tile = np.clip(tile, 0.0, 1.0)
    tile.setflags(write=False)
    return tile


def emotional_face(face: str, cue: str, strength: float, light: float) -> np.ndarray:
    """The face photo showing ``cue``'s transform at ``strength`` (0 = neutral, 1 = the design value).

    Args:
        face: photo name, see :func:`face_tile`.
        cue: an emotion in :data:`.cues.FACE_CUES`.
        strength: scale of the cue's deviation from the identity transform.
        light: lighting noise added to all channels, independent of the emotion.

    Returns:
        (TILE, TILE, 3) float64 RGB in [0, 1].
    """
    spec = FACE_CUES[cue]
    tile = _warp_mouth(face_tile(face), strength * spec.mouth)
    if spec.head_tilt:
        tile = rotate(tile, strength * spec.head_tilt, order=1, mode="edge")
    mean = tile.mean(axis=(0, 1), keepdims=True)
    tile = mean + (1.0 + strength * (spec.contrast - 1.0)) * (tile - mean)
    tile = tile * (1.0 + strength * (np.asarray(spec.gain) - 1.0))
    tile = tile + strength * spec.brightness + light
    return np.clip(tile, 0.0, 1.0)


def _warp_mouth(tile: np.ndarray, lift: float) -> np.ndarray:
    """Bend the mouth: corners move up by ``lift`` pixels (down if negative), the centre stays."""
    if lift == 0.0:
        return np.array(tile)
    ys, xs = np.mgrid[0:TILE, 0:TILE].astype(np.float64)
    cx, cy = MOUTH_XY
    u = (xs - cx) / _MOUTH_HALF_WIDTH
    profile = np.minimum(u**2, 1.0) * np.exp(-(np.maximum(np.abs(u) - 1.0, 0.0) ** 2) / 0.1)
    window = np.exp(-(((ys - cy) / 9.0) ** 2))
    src_y = ys + lift * profile * window  # sampling from below moves content up
    channels = [map_coordinates(tile[..., c], [src_y, xs], order=1, mode="nearest") for c in range(3)]
    return np.stack(channels, axis=-1)
