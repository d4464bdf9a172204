"""A run directory's format: written by :mod:`multiemo.training`, read by evaluation, prediction, export and
the report, none of which needs the training loop to read it.

A run directory holds::

    settings.json      resolved model/train settings, store path, modalities (what the run is: identity.py)
    provenance.json    software that trained it (multiemo, git commit, libraries, text model revisions) and
                       what prediction needs from the store (each modality's dim and extractor provenance),
                       so a copied run predicts without its store (provenance.py)
    history.jsonl      one line per finished epoch (losses, validation and test scores, learning rate)
    last.pt            everything needed to resume after an interruption (multiemo.training.resume)
    best.pt            weights of the epoch selected on validation (train.selection) (+ settings, epoch;
                       no optimiser state): what :func:`~multiemo.runs.checkpoint.load_run_model` loads
    metrics.json       final validation and test scores of best.pt (written by multiemo.evaluation)
    calibration.json   the temperature fitted on best.pt's validation logits (calibration.py)
    predictions_test.csv, predictions_validation.csv

The names are in :mod:`multiemo.runs.directory`; :mod:`multiemo.runs.forward` runs a model over a split
without gradients, in the precision its run recorded (:mod:`multiemo.runs.precision`).
"""
