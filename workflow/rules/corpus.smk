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
        mem_mb=job_resource("read_corpus", "mem_mb"),
        runtime=job_resource("read_corpus", "runtime"),
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
        mem_mb=job_resource("assemble_store", "mem_mb"),
        runtime=job_resource("assemble_store", "runtime"),
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/assemble_store.py"
