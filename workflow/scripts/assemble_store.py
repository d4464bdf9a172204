"""Snakemake adapter: join the feature shards into the feature store."""

from multiemo.logutil import log_to_file
from multiemo.pipeline import assemble_store

with log_to_file(snakemake.log[0]):
    assemble_store(
        snakemake.wildcards.ds,
        snakemake.input.corpus,
        snakemake.params.files,
        snakemake.output.store,
        outcomes_dir=snakemake.output.outcomes,
    )
