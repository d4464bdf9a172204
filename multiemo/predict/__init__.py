"""Emotions of new conversations from a trained run (``multiemo predict``)."""

from multiemo.predict.api import predict
from multiemo.predict.predictor import Predictions, Predictor

__all__ = ["Predictions", "Predictor", "predict"]
