"""Snakemake adapter: read the dataset's corpus into an utterance table."""

from multiemo.features.registry import load_plugins
from multiemo.logutil import log_to_file
from multiemo.pipeline import read_corpus

with log_to_file(snakemake.log[0]):
    load_plugins(snakemake.params.plugins)
    read_corpus(snakemake.params.settings, snakemake.output[0])
