"""One module per benchmark kind, each registering its metrics function with
`shiftlab.metrics.core.register_kind`; importing this package registers every kind."""

from shiftlab.metrics.kinds import accuracy, corruption, cue_conflict, ood, perturbation

__all__ = ["accuracy", "corruption", "cue_conflict", "ood", "perturbation"]
