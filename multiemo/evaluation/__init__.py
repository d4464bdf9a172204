"""Scores of trained runs: the best checkpoint on a split, predictions, seeds summarised."""
