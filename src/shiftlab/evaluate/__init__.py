"""Evaluation: batched prediction of a run's checkpoint on a benchmark (rule `predict`)."""

from shiftlab.evaluate.predict import predict

__all__ = ["predict"]
