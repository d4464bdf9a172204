"""Snakemake adapter: fine-tune the text encoder on the training split (early stopping on validation)."""

from multiemo import bound_kernel_caches
from multiemo.logutil import log_to_file
from multiemo.pipeline import finetune_text

bound_kernel_caches()  # before the first oneDNN kernel: see multiemo._onednn
with log_to_file(snakemake.log[0]):
    finetune_text(snakemake.input.corpus, snakemake.output[0], settings=snakemake.params.settings,
                  progress=False)
