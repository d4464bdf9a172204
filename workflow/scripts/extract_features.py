"""Snakemake adapter: one modality's features, of one shard of dialogues or of the whole corpus."""

from multiemo import bound_kernel_caches
from multiemo.logutil import log_to_file
from multiemo.pipeline import extract_features, load_corpus
from multiemo.registry import load_plugins

bound_kernel_caches()  # before the first oneDNN kernel: see multiemo._onednn
with log_to_file(snakemake.log[0]):
    load_plugins(snakemake.params.plugins)
    shard = snakemake.wildcards.get("shard")
    extract_features(
        snakemake.params.modality,
        load_corpus(snakemake.params.corpus),  # not read_corpus's folder: see rules/common.smk
        snakemake.output[0],
        settings=snakemake.params.settings,
        shard=None if shard is None else int(shard),
        num_shards=snakemake.params.num_shards,
        cache_dir=snakemake.params.cache,
        inputs={"encoder": snakemake.input.get("encoder")},
        progress=False,
    )
