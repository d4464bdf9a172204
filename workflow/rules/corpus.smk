rule read_corpus:
    input:
        lambda wc: corpus_sources(wc.ds),
    output:
        directory(f"{RESULTS}/{{ds}}/corpus"),
    params:
        settings=lambda wc: corpus_settings(wc.ds),
        # the corpus it will write, also the clips' missing/empty outcomes: a clip added rereads it
        content=lambda wc: corpus_digest(wc.ds),
        plugins=PLUGINS,
    log:
        f"logs/{{ds}}/read_corpus.log",
    benchmark:
        f"{RESULTS}/{{ds}}/benchmarks/read_corpus.tsv"
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/read_corpus.py"


rule assemble_store:
    input:
        corpus=f"{RESULTS}/{{ds}}/corpus",
        features=all_feature_files,
    output:
        store=directory(f"{RESULTS}/{{ds}}/store"),
        outcomes=directory(f"{RESULTS}/{{ds}}/extraction"),
    params:
        files=lambda wc: feature_files(wc.ds),
    log:
        f"logs/{{ds}}/assemble_store.log",
    benchmark:
        f"{RESULTS}/{{ds}}/benchmarks/assemble_store.tsv"
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/assemble_store.py"
