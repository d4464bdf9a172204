# Feature extraction: one rule `{modality}_features` per extractor in multiemo/features/registry.py (built-in
# and plugins). A sharded modality runs one job per shard of dialogues, the others one job over the corpus;
# the cache comes from the registry entry, environment, threads and GPU from rules/resources.smk.
for _modality in registered_modalities():
    _spec = extractor(_modality)
    _sharded = _spec.sharded

    rule:
        name:
            f"{_modality}_features"
        input:
            unpack(lambda wc, m=_modality: extraction_inputs(wc.ds, m, wc.get("shard"))),
        output:
            (
                f"{RESULTS}/{{ds}}/features/{_modality}/shard_{{shard}}.npz"
                if _sharded
                else f"{RESULTS}/{{ds}}/features/{_modality}/{_modality}.npz"
            ),
        params:
            modality=_modality,
            settings=lambda wc, m=_modality: extraction(wc.ds, m),
            corpus=lambda wc: corpus_settings(wc.ds),
            content=lambda wc, m=_modality: extraction_digest(wc.ds, m, wc.get("shard")),
            num_shards=lambda wc: num_shards(wc.ds),
            # e.g. MTCNN face crops, cached per utterance and keyed by media and detection settings:
            # changing only the face backbone re-embeds the cached crops instead of detecting again.
            cache=lambda wc, m=_modality: extraction_cache(wc.ds, m),
            plugins=PLUGINS,
        log:
            f"logs/{{ds}}/{_modality}/shard_{{shard}}.log" if _sharded else f"logs/{{ds}}/{_modality}_features.log",
        benchmark:
            (
                f"{RESULTS}/{{ds}}/benchmarks/{_modality}/shard_{{shard}}.tsv"
                if _sharded
                else f"{RESULTS}/{{ds}}/benchmarks/{_modality}_features.tsv"
            )
        threads: extraction_job(_modality, "threads")
        resources:
            gpu=lambda wc, gpu=extraction_job(_modality, "gpu"): int(config["resources"]["extraction_gpu"]) if gpu else 0,
            mem_mb=job_resource(f"{_modality}_features", "mem_mb"),
            runtime=job_resource(f"{_modality}_features", "runtime"),
        conda:
            f"../../envs/{extraction_job(_modality, 'env')}.yaml"
        script:
            "../scripts/extract_features.py"


rule finetune_text_encoder:
    input:
        corpus=f"{RESULTS}/{{ds}}/corpus",
    output:
        directory(f"{RESULTS}/{{ds}}/text_encoder"),
    params:
        settings=lambda wc: extraction(wc.ds, "text"),
    log:
        f"logs/{{ds}}/finetune_text_encoder.log",
    benchmark:
        f"{RESULTS}/{{ds}}/benchmarks/finetune_text_encoder.tsv"
    threads: job_resource("finetune_text_encoder", "threads")
    resources:
        gpu=lambda wc: int(config["resources"]["train_gpu"]),
        mem_mb=job_resource("finetune_text_encoder", "mem_mb"),
        runtime=job_resource("finetune_text_encoder", "runtime"),
    conda:
        "../../envs/text.yaml"
    script:
        "../scripts/finetune_text.py"
