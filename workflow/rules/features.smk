rule audio_features:
    input:
        corpus=f"{RESULTS}/{{ds}}/corpus",
    output:
        f"{RESULTS}/{{ds}}/features/audio/shard_{{shard}}.npz",
    params:
        modality="audio",
        settings=lambda wc: extraction(wc.ds, "audio"),
        num_shards=lambda wc: num_shards(wc.ds),
        cache=None,
    log:
        f"logs/{{ds}}/audio/shard_{{shard}}.log",
    benchmark:
        f"{RESULTS}/{{ds}}/benchmarks/audio/shard_{{shard}}.tsv"
    threads: 1
    conda:
        "../../envs/audio.yaml"
    script:
        "../scripts/extract_shard.py"


rule visual_features:
    input:
        corpus=f"{RESULTS}/{{ds}}/corpus",
    output:
        f"{RESULTS}/{{ds}}/features/visual/shard_{{shard}}.npz",
    params:
        modality="visual",
        settings=lambda wc: extraction(wc.ds, "visual"),
        num_shards=lambda wc: num_shards(wc.ds),
        # MTCNN face crops are cached per utterance, keyed by media and detection settings: changing
        # only the face backbone re-embeds the cached crops instead of decoding and detecting again.
        cache=lambda wc: f"{RESULTS}/{wc.ds}/cache/faces",
    log:
        f"logs/{{ds}}/visual/shard_{{shard}}.log",
    benchmark:
        f"{RESULTS}/{{ds}}/benchmarks/visual/shard_{{shard}}.tsv"
    threads: 1
    resources:
        gpu=lambda wc: int(config["resources"]["extraction_gpu"]),
    conda:
        "../../envs/visual.yaml"
    script:
        "../scripts/extract_shard.py"


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
    threads: 2
    resources:
        gpu=lambda wc: int(config["resources"]["train_gpu"]),
    conda:
        "../../envs/text.yaml"
    script:
        "../scripts/finetune_text.py"


rule text_features:
    input:
        unpack(text_encoder_input),
        corpus=f"{RESULTS}/{{ds}}/corpus",
    output:
        f"{RESULTS}/{{ds}}/features/text/text.npz",
    params:
        settings=lambda wc: extraction(wc.ds, "text"),
    log:
        f"logs/{{ds}}/text_features.log",
    benchmark:
        f"{RESULTS}/{{ds}}/benchmarks/text_features.tsv"
    threads: 2
    conda:
        "../../envs/text.yaml"
    script:
        "../scripts/text_features.py"
