"""Snakemake adapter: the results report of one dataset."""

from pathlib import Path

from multiemo.logutil import log_to_file
from multiemo.report import write_report

with log_to_file(snakemake.log[0]):
    write_report(
        Path(snakemake.output[0]).parent,
        title=snakemake.params.title,
        variants=snakemake.params.variants,
        main_variant=snakemake.params.main_variant,
        stage_outcomes=sorted(Path(snakemake.input.extraction).glob("*.json")),
    )
