# "Report" in this workflow means one thing: a dataset's results report in results/{ds}/report/ (scores,
# ablation, confusion matrix, curves; written by multiemo.report). Its files marked report(...) also appear in
# Snakemake's HTML report. Per-stage extraction counts are outcomes, in results/{ds}/extraction/.
localrules:
    make_report,  # light: it runs where Snakemake runs, not as a cluster job


rule make_report:
    input:
        metrics=lambda wc: run_metrics(wc.ds),
        summaries=lambda wc: [f"{RESULTS}/{wc.ds}/runs/{v}/summary.json" for v in variants(wc.ds)],
        extraction=f"{RESULTS}/{{ds}}/extraction",
    output:
        report(f"{RESULTS}/{{ds}}/report/results.md", category="Results", labels={"file": "scores"}),
        f"{RESULTS}/{{ds}}/report/summary.json",
        report(f"{RESULTS}/{{ds}}/report/ablation.csv", category="Results", labels={"file": "ablation"}),
        report(
            f"{RESULTS}/{{ds}}/report/confusion_matrix.png",
            category="Results",
            labels={"file": "confusion matrix"},
        ),
        report(f"{RESULTS}/{{ds}}/report/curves.png", category="Results", labels={"file": "training curves"}),
        report(
            f"{RESULTS}/{{ds}}/report/reliability.png",
            category="Results",
            labels={"file": "reliability diagram"},
        ),
    params:
        title=lambda wc: wc.ds,
        main_variant=lambda wc: main_variant(wc.ds),
        variants=lambda wc: {
            v: [f"{RESULTS}/{wc.ds}/runs/{v}/seed_{s}" for s in seeds(wc.ds)] for v in variants(wc.ds)
        },
    log:
        f"logs/{{ds}}/report.log",
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/report.py"


# Named targets per dataset: `snakemake train_meld`, `snakemake features_iemocap`, ... The default dataset's
# results report is the default target (`snakemake`); no rule is named `report`, so that `snakemake report`
# cannot be mistaken for Snakemake's own HTML report (`snakemake --report FILE`, the `report()` items above).
for _ds in DATASETS:

    rule:
        name:
            f"features_{_ds}"
        input:
            f"{RESULTS}/{_ds}/store",

    rule:
        name:
            f"train_{_ds}"
        input:
            report_files(_ds),
