"""Snakemake adapter: text features of the whole corpus (from the fine-tuned encoder when there is one)."""

from multiemo.logutil import log_to_file
from multiemo.pipeline import extract_text_features

with log_to_file(snakemake.log[0]):
    extract_text_features(
        snakemake.input.corpus,
        snakemake.output[0],
        settings=snakemake.params.settings,
        encoder_path=snakemake.input.get("encoder"),
        progress=False,
    )
