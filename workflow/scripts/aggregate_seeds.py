"""Snakemake adapter: mean ± std over the seeds of one variant."""

from pathlib import Path

from multiemo.evaluation.summary import summarise_runs
from multiemo.io import write_json
from multiemo.logutil import log_to_file

with log_to_file(snakemake.log[0]):
    write_json(snakemake.output[0], summarise_runs([Path(m).parent for m in snakemake.input]))
