rule train:
    input:
        store=f"{RESULTS}/{{ds}}/store",
    output:
        metrics=f"{RESULTS}/{{ds}}/runs/{{variant}}/seed_{{seed}}/metrics.json",
    params:
        settings=lambda wc: run_settings(wc.ds, wc.variant, wc.seed),
        run_dir=lambda wc, output: str(Path(output.metrics).parent),
    log:
        f"logs/{{ds}}/train/{{variant}}/seed_{{seed}}.log",
    benchmark:
        f"{RESULTS}/{{ds}}/benchmarks/train/{{variant}}/seed_{{seed}}.tsv"
    threads: job_resource("train", "threads")
    resources:
        gpu=lambda wc: int(config["resources"]["train_gpu"]),
        mem_mb=job_resource("train", "mem_mb"),
        runtime=job_resource("train", "runtime"),
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/train.py"


# Light bookkeeping: it runs where Snakemake runs, not as a cluster job.
localrules:
    aggregate_seeds,


rule aggregate_seeds:
    input:
        lambda wc: run_metrics(wc.ds, wc.variant),
    output:
        f"{RESULTS}/{{ds}}/runs/{{variant}}/summary.json",
    log:
        f"logs/{{ds}}/aggregate/{{variant}}.log",
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/aggregate_seeds.py"
