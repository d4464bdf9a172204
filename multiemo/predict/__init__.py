"""Emotions of new conversations from a trained run or an exported model (``multiemo predict``)."""

from multiemo.predict.api import predict
from multiemo.predict.export import export_run, from_pretrained, load, push_to_hub
from multiemo.predict.predictor import Predictions, Predictor

__all__ = ["Predictions", "Predictor", "export_run", "from_pretrained", "load", "predict", "push_to_hub"]
