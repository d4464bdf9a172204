"""One face crop per video frame: batched MTCNN detection, a stated selection rule, square crops.

Selection rule, per frame: among MTCNN detections with probability >= ``threshold`` (and, when
``face_side`` is ``"left"``/``"right"``, whose box centre lies in that half of the frame, as in IEMOCAP's
side-by-side dialogue videos), take the one with the largest probability x box area. Frames with no such
detection give no crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from facenet_pytorch import MTCNN


@dataclass(frozen=True)
class DetectionConfig:
    """How faces are found and cut out.

    Attributes:
        detect_side: frames are downscaled so their longer side is at most this many pixels before
            detection (MTCNN's cost grows with the pixel count); crops are still cut from the full frame.
        min_face_size: smallest face MTCNN looks for, in pixels of the downscaled detection frame.
        threshold: minimum MTCNN face probability for a detection to be used.
        crop_size: side of the square RGB crops.
        margin: extra border around the detected box, as a fraction of the box's width/height.
    """

    detect_side: int = 640
    min_face_size: int = 40
    threshold: float = 0.9
    crop_size: int = 160
    margin: float = 0.0

    def __post_init__(self) -> None:
        if self.detect_side < 48:
            raise ValueError(f"detect_side must be >= 48 pixels, got {self.detect_side}")
        if self.min_face_size < 12:
            raise ValueError(
                f"min_face_size must be >= 12 pixels (MTCNN's smallest window), got {self.min_face_size}"
            )
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be a probability in [0, 1], got {self.threshold}")
        if self.crop_size < 16:
            raise ValueError(f"crop_size must be >= 16 pixels, got {self.crop_size}")
        if self.margin < 0:
            raise ValueError(f"margin must be >= 0, got {self.margin}")


class FaceCropper:
    """MTCNN built once on ``device``; turns a clip's frames into face crops."""

    def __init__(self, config: DetectionConfig, device: torch.device) -> None:
        self.config = config
        self.mtcnn = MTCNN(
            min_face_size=config.min_face_size, keep_all=True, select_largest=False, device=device
        )

    def crops(self, frames: np.ndarray, face_side: str = "") -> np.ndarray:
        """Face crops of one clip.

        Args:
            frames: (T, H, W, 3) uint8 RGB frames of one size (one clip).
            face_side: ``""`` any face, ``"left"``/``"right"`` only faces centred in that half.

        Returns:
            (K, crop_size, crop_size, 3) uint8 crops, one per frame with a face, K <= T, in frame order.
        """
        boxes = self.boxes(frames, face_side)  # (T, 4) float, NaN where no face
        size = self.config.crop_size
        out = [self._crop(frame, box) for frame, box in zip(frames, boxes) if not np.isnan(box[0])]
        return np.stack(out) if out else np.zeros((0, size, size, 3), dtype=np.uint8)

    def boxes(self, frames: np.ndarray, face_side: str = "") -> np.ndarray:
        """(T, 4) boxes ``x1, y1, x2, y2`` in pixels of ``frames`` chosen by the module's rule, NaN if
        none."""
        height, width = frames.shape[1:3]
        scale = min(1.0, self.config.detect_side / max(height, width))
        small = frames
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])
        chosen = np.full((len(frames), 4), np.nan, dtype=np.float32)
        if min(small.shape[1:3]) < self.config.min_face_size:
            return chosen  # no face of the minimum size fits (and MTCNN's image pyramid would be empty)
        # One batched pass over all frames of the clip (they share a size).
        all_boxes, all_probs = self.mtcnn.detect(small)
        for t, (boxes, probs) in enumerate(zip(all_boxes, all_probs)):
            if boxes is None:
                continue
            box = select_face(
                np.asarray(boxes, dtype=np.float32) / scale,
                np.asarray(probs, dtype=np.float32),
                frame_width=width,
                threshold=self.config.threshold,
                face_side=face_side,
            )
            if box is not None:
                chosen[t] = box
        return chosen

    def _crop(self, frame: np.ndarray, box: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        pad_x = self.config.margin * (box[2] - box[0]) / 2
        pad_y = self.config.margin * (box[3] - box[1]) / 2
        x1, x2 = int(max(0, box[0] - pad_x)), int(min(width, np.ceil(box[2] + pad_x)))
        y1, y2 = int(max(0, box[1] - pad_y)), int(min(height, np.ceil(box[3] + pad_y)))
        face = frame[y1 : max(y2, y1 + 1), x1 : max(x2, x1 + 1)]
        size = self.config.crop_size
        shrink = face.shape[0] > size or face.shape[1] > size
        return cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def select_face(
    boxes: np.ndarray, probs: np.ndarray, *, frame_width: int, threshold: float, face_side: str = ""
) -> np.ndarray | None:
    """The module's selection rule for one frame.

    Args:
        boxes: (k, 4) detections ``x1, y1, x2, y2``; probs: (k,) face probabilities.
        frame_width: width of the frame the boxes are in (decides left/right halves).
        threshold: minimum probability; face_side: ``""``, ``"left"`` or ``"right"``.

    Returns:
        (4,) chosen box, or None when no detection qualifies.
    """
    keep = probs >= threshold
    centre_x = (boxes[:, 0] + boxes[:, 2]) / 2
    if face_side == "left":
        keep &= centre_x < frame_width / 2
    elif face_side == "right":
        keep &= centre_x >= frame_width / 2
    elif face_side:
        raise ValueError(f"face_side must be '', 'left' or 'right', got {face_side!r}")
    if not keep.any():
        return None
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    score = np.where(keep, probs * area, -np.inf)
    return boxes[int(np.argmax(score))]
