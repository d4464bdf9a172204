"""Snakemake adapter: train one seed of one variant; a changed setting restarts the run afresh."""

import torch

from multiemo import bound_kernel_caches
from multiemo.logutil import log_to_file
from multiemo.registry import load_plugins
from multiemo.training import train_run

bound_kernel_caches()  # before the first oneDNN kernel: see multiemo._onednn
with log_to_file(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    # a plugin loss named in the settings; read from the config, not params: the list alone changes no result
    load_plugins(snakemake.config.get("plugins"))
    train_run(
        snakemake.input.store,
        snakemake.params.settings,
        snakemake.params.run_dir,
        progress=False,
        restart_if_changed=True,
    )
