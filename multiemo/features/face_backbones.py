"""Face-crop embedders ("VisExtNet" backbones): uint8 face crops in, one vector per crop out.

``mtcnn_onet`` (default) needs nothing beyond facenet-pytorch and works offline: it reads the 256-d
penultimate layer of MTCNN's output network (ONet), trained on faces, on a 48x48 resize of the crop.
``inception_resnet_v1`` is FaceNet's InceptionResnetV1 trained on VGGFace2 (512-d, downloaded on first
use or read from a local file). ``resnet101`` is torchvision's ResNet-101 with user-supplied weights, such
as the VGGFace2 ResNet-101 the MultiEMO paper used, converted to torchvision's state_dict layout.
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import version
from pathlib import Path

import facenet_pytorch
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from multiemo.errors import InputError

log = logging.getLogger(__name__)

RESNET101_OUTPUTS = ("penultimate", "logits")


class FaceEmbedder(nn.Module):
    """A face network with its input convention: resizes and normalises uint8 crops, then runs ``net``.

    Attributes:
        net: maps normalised (B, 3, input_size, input_size) crops to (B, dim) embeddings.
        name: backbone name as given to :func:`build_backbone`.
        weights: where the weights came from (recorded in provenance).
        input_size: side of the square input the network expects.
        dim: length of one embedding.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        name: str,
        weights: str,
        input_size: int,
        dim: int,
        mean: float | tuple[float, ...],
        std: float | tuple[float, ...],
    ) -> None:
        super().__init__()
        self.net = net
        self.name, self.weights, self.input_size, self.dim = name, weights, input_size, dim
        # Buffers move with the model, so preprocessing runs wherever the network does.
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8 RGB crops -> (B, dim) float32 embeddings."""
        x = crops.to(self.mean.device).permute(0, 3, 1, 2).float()  # (B, 3, H, W)
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", antialias=True)
        return self.net((x - self.mean) / self.std)  # (B, dim)

    @torch.no_grad()
    def embed(self, crops: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
        """(C, H, W, 3) uint8 crops -> (C, dim) float32 numpy embeddings, ``batch_size`` crops per pass."""
        out = [
            self(torch.from_numpy(np.ascontiguousarray(crops[i : i + batch_size]))).float().cpu().numpy()
            for i in range(0, len(crops), batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, self.dim), dtype=np.float32)


class ONetTrunk(nn.Module):
    """MTCNN's ONet (weights bundled in facenet-pytorch) up to its 256-d penultimate PReLU layer."""

    def __init__(self) -> None:
        super().__init__()
        self.onet = facenet_pytorch.models.mtcnn.ONet(pretrained=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 48, 48) normalised crops -> (B, 256)."""
        net = self.onet
        x = net.pool1(net.prelu1(net.conv1(x)))
        x = net.pool2(net.prelu2(net.conv2(x)))
        x = net.pool3(net.prelu3(net.conv3(x)))
        x = net.prelu4(net.conv4(x))  # (B, 128, 3, 3)
        # ONet's dense layer was trained on the (W, H) transposed layout; keep it.
        x = x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)  # (B, 1152)
        return net.prelu5(net.dense5(x))  # (B, 256)


BACKBONES = ("mtcnn_onet", "inception_resnet_v1", "resnet101")


def build_backbone(
    name: str, *, weights: str | os.PathLike | None = None, resnet101_output: str = "penultimate"
) -> FaceEmbedder:
    """Build a face embedder in eval mode on the CPU (the caller moves it once to its device).

    Args:
        name: one of :data:`BACKBONES`.
        weights: local weights file (``inception_resnet_v1``: optional, else downloaded; ``resnet101``:
            required; ``mtcnn_onet``: must be None, its weights ship with facenet-pytorch).
        resnet101_output: ``penultimate`` (2048-d pooled features) or ``logits`` (the fc head's outputs).
    """
    if name == "mtcnn_onet":
        model = _mtcnn_onet(weights)
    elif name == "inception_resnet_v1":
        model = _inception_resnet_v1(weights)
    elif name == "resnet101":
        model = _resnet101(weights, resnet101_output)
    else:
        raise InputError(f"unknown face backbone {name!r}; choose one of {BACKBONES}")
    log.info("face backbone %s (%d-d) from %s", model.name, model.dim, model.weights)
    return model.eval()


def _mtcnn_onet(weights: str | os.PathLike | None) -> FaceEmbedder:
    if weights:
        raise InputError(
            f"backbone 'mtcnn_onet' uses the weights bundled with facenet-pytorch; got {weights}"
        )
    # MTCNN feeds its networks (x - 127.5) / 128.
    return FaceEmbedder(
        ONetTrunk(),
        name="mtcnn_onet",
        weights=f"onet.pt bundled with facenet-pytorch {version('facenet-pytorch')}",
        input_size=48,
        dim=256,
        mean=127.5,
        std=128.0,
    )


def _inception_resnet_v1(weights: str | os.PathLike | None) -> FaceEmbedder:
    """FaceNet InceptionResnetV1 (VGGFace2): L2-normalised 512-d embeddings of 160x160 crops."""
    if weights:
        net = facenet_pytorch.InceptionResnetV1(pretrained=None, classify=False)
        state = _read_state_dict(weights)
        # The classifier over VGGFace2 identities is not part of the embedding network.
        _load(
            net,
            {k: v for k, v in state.items() if not k.startswith("logits.")},
            weights,
            "inception_resnet_v1",
        )
    else:
        try:
            net = facenet_pytorch.InceptionResnetV1(pretrained="vggface2", classify=False)
        except Exception as exc:  # download errors come from urllib, requests, OS or torch.hub
            raise InputError(
                "could not download the VGGFace2 InceptionResnetV1 weights "
                f"({type(exc).__name__}: {exc}); on an offline machine download "
                "20180402-114759-vggface2.pt elsewhere and pass its path as the backbone weights, "
                "or use the offline backbone 'mtcnn_onet'"
            ) from exc
    return FaceEmbedder(
        net,
        name="inception_resnet_v1",
        weights=str(weights) if weights else "vggface2 (facenet-pytorch download)",
        input_size=160,
        dim=512,
        mean=127.5,
        std=128.0,
    )


def _resnet101(weights: str | os.PathLike | None, output: str) -> FaceEmbedder:
    """torchvision ResNet-101 from a weights file; ``output`` is the 2048-d pooled layer or the fc logits."""
    import torchvision

    if output not in RESNET101_OUTPUTS:
        raise ValueError(f"resnet101 output must be one of {RESNET101_OUTPUTS}, got {output!r}")
    if not weights:
        raise InputError(
            "backbone 'resnet101' needs a weights file (e.g. the VGGFace2 ResNet-101 converted to a "
            "torchvision state_dict); set the visual backbone weights path, or use 'mtcnn_onet'"
        )
    state = _read_state_dict(weights)
    if "fc.weight" not in state:
        raise InputError(f"{weights}: not a torchvision resnet101 state_dict (no 'fc.weight')")
    num_classes = int(state["fc.weight"].shape[0])
    net = torchvision.models.resnet101(weights=None, num_classes=num_classes)
    _load(net, state, weights, "resnet101")
    if output == "penultimate":
        net.fc = nn.Identity()
    # ImageNet statistics on the 0-255 scale, as torchvision-layout ResNets expect.
    return FaceEmbedder(
        net,
        name="resnet101",
        weights=str(weights),
        input_size=224,
        dim=2048 if output == "penultimate" else num_classes,
        mean=(123.675, 116.28, 103.53),
        std=(58.395, 57.12, 57.375),
    )


def _load(net: nn.Module, state: dict[str, torch.Tensor], path: str | os.PathLike, name: str) -> None:
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:  # missing, unexpected or mis-shaped tensors
        raise InputError(f"{path}: weights do not fit the {name} network: {exc}") from exc


def _read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"face backbone weights file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors alike mean the same thing to the user
        raise InputError(f"{path}: cannot be read as a PyTorch weights file ({exc})") from exc
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict):
        raise InputError(f"{path}: expected a state_dict, found {type(state).__name__}")
    # Checkpoints saved from nn.DataParallel prefix every key with "module.".
    return {k.removeprefix("module."): v for k, v in state.items()}
