"""Snakemake adapter: read the dataset's corpus into an utterance table."""

from multiemo.logutil import log_to_file
from multiemo.pipeline import read_corpus
from multiemo.registry import load_plugins

with log_to_file(snakemake.log[0]):
    load_plugins(snakemake.params.plugins)
    read_corpus(snakemake.params.settings, snakemake.output[0])
