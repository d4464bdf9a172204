"""The MultiEMO model: per-modality projection, DialogueRNN context encoders, MultiAttn fusion, classifier."""

from multiemo.models.config import ModelConfig
from multiemo.models.dialogue_rnn import DialogueRNN
from multiemo.models.multiattn import MultiAttn
from multiemo.models.multiemo import MultiEMO, MultiEMOOutput

__all__ = ["DialogueRNN", "ModelConfig", "MultiAttn", "MultiEMO", "MultiEMOOutput"]
