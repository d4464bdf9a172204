# Emotions of a new conversation with a trained run: `snakemake predict`, configured under `predict:`.
# The run is an input, so a run of this workflow that does not exist yet is trained first.

rule predict:
    input:
        unpack(predict_inputs),
    output:
        csv=f"{predict_out()}/predictions.csv",
        json=f"{predict_out()}/predictions.json",
        timeline=report(
            f"{predict_out()}/timeline.png",
            caption="../report/timeline.rst",
            category="Prediction",
            labels={"recording": Path(predict_out()).name, "item": "timeline"},
        ),
        page=f"{predict_out()}/predictions.html",
    params:
        run=lambda wc, input: str(Path(input.run).parent),
        settings=predict_settings(),
        plugins=PLUGINS,
    log:
        f"logs/predict/{Path(predict_out()).name}.log",
    benchmark:
        f"{RESULTS}/predict/benchmarks/{Path(predict_out()).name}.tsv"
    threads: job_resource("predict", "threads")
    resources:
        gpu=lambda wc: int(config["resources"]["train_gpu"]),
        mem_mb=job_resource("predict", "mem_mb"),
        runtime=job_resource("predict", "runtime"),
    conda:
        "../../envs/predict.yaml"
    script:
        "../scripts/predict.py"
