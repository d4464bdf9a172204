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
        f"{RESULTS}/{{ds}}/report/results.md",
        f"{RESULTS}/{{ds}}/report/summary.json",
        f"{RESULTS}/{{ds}}/report/ablation.csv",
        report(
            f"{RESULTS}/{{ds}}/report/confusion_matrix.png",
            caption="../report/confusion_matrix.rst",
            category="Evaluation",
            labels={"dataset": "{ds}", "item": "confusion matrix"},
        ),
        report(
            f"{RESULTS}/{{ds}}/report/curves.png",
            caption="../report/curves.rst",
            category="Training",
            labels={"dataset": "{ds}", "item": "training curves"},
        ),
        report(
            f"{RESULTS}/{{ds}}/report/results.html",
            caption="../report/results.rst",
            category="Evaluation",
            labels={"dataset": "{ds}", "item": "scores"},
        ),
        report(
            f"{RESULTS}/{{ds}}/report/ablation.html",
            caption="../report/ablation.rst",
            category="Evaluation",
            labels={"dataset": "{ds}", "item": "ablation"},
        ),
        report(
            f"{RESULTS}/{{ds}}/report/extraction.html",
            caption="../report/extraction.rst",
            category="Extraction",
            labels={"dataset": "{ds}", "item": "outcome counts"},
        ),
        report(
            f"{RESULTS}/{{ds}}/report/reliability.png",
            caption="../report/reliability.rst",
            category="Evaluation",
            labels={"dataset": "{ds}", "item": "reliability diagram"},
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
