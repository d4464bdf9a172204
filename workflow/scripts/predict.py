"""Snakemake adapter: predict the emotions of the configured conversation with a trained run."""

from pathlib import Path

import torch

from multiemo import bound_kernel_caches
from multiemo.logutil import log_to_file
from multiemo.predict import predict
from multiemo.registry import load_plugins

bound_kernel_caches()  # before the first oneDNN kernel: see multiemo._onednn
with log_to_file(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    load_plugins(snakemake.params.plugins)
    settings = snakemake.params.settings
    predict(
        snakemake.params.run,
        Path(snakemake.output.csv).parent,
        video=snakemake.input.get("video"),
        transcript=snakemake.input.get("transcript"),
        manifest=snakemake.input.get("manifest"),
        device=settings["device"],
        overrides=settings["extraction"],
        segmentation=settings["segmentation"],
        diarization=settings["diarization"],
        asr=settings["asr"],
        window=settings["window"],
        context=settings["context"],
        low_confidence=settings["low_confidence"],
        progress=False,
    )
