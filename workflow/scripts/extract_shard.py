"""Snakemake adapter: audio or visual features of one shard of dialogues."""

from multiemo.logutil import log_to_file
from multiemo.pipeline import extract_shard

with log_to_file(snakemake.log[0]):
    extract_shard(
        snakemake.params.modality,
        snakemake.input.corpus,
        snakemake.output[0],
        shard=int(snakemake.wildcards.shard),
        num_shards=snakemake.params.num_shards,
        settings=snakemake.params.settings,
        cache_dir=snakemake.params.cache,
        progress=False,
    )
