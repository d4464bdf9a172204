# Helpers and input functions shared by the rules. Settings flow into rules through `params:`, so that
# changing one reruns exactly the stages that depend on it; so does data (README, "What reruns when").
from functools import cache
from pathlib import Path

from multiemo.corpora.registry import corpus_sources as reader_sources
from multiemo.corpora.registry import dataset_modalities
from multiemo.corpora.registry import reader as corpus_reader
from multiemo.features.registry import READ_COLUMNS, extractor
from multiemo.features.registry import modalities as registered_modalities
from multiemo.pipeline import content_digest, load_corpus, shard_media
from multiemo.settings import ConfigError, check_seeds, deep_merge, parse_overrides
from multiemo.training.config import complete_settings, resolve_run_settings

DATASETS = config["datasets"]
RESULTS = config.get("results", "results")
# Plugins (loaded by the Snakefile) register extra extractors, readers and losses in each job's process too.
PLUGINS = list(config.get("plugins") or [])


wildcard_constraints:
    ds="|".join(DATASETS),
    shard=r"\d+",
    seed=r"\d+",
    variant=r"[A-Za-z0-9_]+",


def entry(ds):
    return DATASETS[ds]


def modalities(ds):
    return dataset_modalities(entry(ds))


def check_extraction():
    """Every dataset's reader, modalities and extraction blocks are registered (multiemo/*/registry.py)."""
    for ds in DATASETS:
        try:
            corpus_reader(entry(ds)["reader"])
            for modality in modalities(ds):
                extractor(modality)
            for block in (config["extraction"], entry(ds).get("extraction", {})):
                for modality in block:
                    if modality != "shards":
                        extractor(modality)
        except ValueError as err:
            raise ValueError(f"dataset {ds!r}: {err}") from None


check_extraction()
if config["dataset"] not in DATASETS:
    raise ValueError(
        f"config.yaml: dataset {config['dataset']!r} (the default target's) is not defined under datasets:; "
        f"known datasets: {', '.join(sorted(DATASETS))}"
    )


def extraction(ds, stage):
    """Global extraction settings of a stage, with the dataset's own overrides."""
    own = entry(ds).get("extraction", {}).get(stage, {})
    return deep_merge(config["extraction"].get(stage, {}), own)


def num_shards(ds):
    return int(entry(ds).get("shards", config["extraction"]["shards"]))


def corpus_settings(ds):
    """What the corpus reader depends on (its registered keys: paths and split options, not training settings)."""
    keys = ("reader", "require_media", *corpus_reader(entry(ds)["reader"]).keys)
    return {k: entry(ds)[k] for k in keys if k in entry(ds)} | {"modalities": modalities(ds)}


# Data flows in as declared files and as digests of what each job reads of the corpus (README, "What reruns
# when the data changes"). read_corpus and the feature jobs take the reader's annotation files as ancient()
# input (a time stamp alone reruns nothing) and, as a param, the digest of what they read, so the params
# trigger reruns exactly the jobs whose data changed, in the same run and in a dry run: a relabelled
# utterance changes read_corpus's digest (hence the store's input), not the text's or a shard's. The feature
# jobs read the corpus themselves rather than read_corpus's folder: Snakemake reruns every job downstream of
# one that reruns, and would rerun them all for a label. A media job also takes its shard's clips as input.
@cache
def planned_corpus(ds):
    """The corpus read_corpus would write now, read at planning time: a corpus that cannot be read (a missing
    root, manifest or annotation file) fails `snakemake -n` with the reader's message and the dataset."""
    try:
        return load_corpus(corpus_settings(ds))
    except (ValueError, OSError) as err:
        raise ValueError(f"dataset {ds!r} (config.yaml, datasets.{ds}): {err}") from None


def corpus_sources(ds):
    planned_corpus(ds)
    return ancient([str(p) for p in reader_sources(corpus_settings(ds))])


@cache  # Snakemake evaluates a job's params more than once
def corpus_digest(ds, columns=None, shard=None):
    """Digest of the columns (None: everything) of the corpus, or of one shard of it, that a stage reads."""
    return content_digest(planned_corpus(ds), columns, shard=shard, num_shards=num_shards(ds))


def feature_files(ds):
    """modality -> list of feature files that make up the store: per shard, or one for the whole corpus."""
    files = {}
    for modality in modalities(ds):
        if extractor(modality).sharded:
            files[modality] = [f"{RESULTS}/{ds}/features/{modality}/shard_{i}.npz" for i in range(num_shards(ds))]
        else:
            files[modality] = [f"{RESULTS}/{ds}/features/{modality}/{modality}.npz"]
    return files


def all_feature_files(wildcards):
    return [f for files in feature_files(wildcards.ds).values() for f in files]


def finetune_enabled(ds, modality):
    """Whether the dataset fine-tunes the encoder of a modality whose extractor can use one (registry: finetune)."""
    if not extractor(modality).finetune:
        return False
    return bool(extraction(ds, modality).get("finetune", {}).get("enabled", False))


def extraction_inputs(ds, modality, shard=None):
    """The corpus's annotation files, the clips a media extractor reads (of the shard's dialogues), and the
    fine-tuned encoder for a modality that can use one when fine-tuning is on."""
    files = {"sources": corpus_sources(ds)}
    if extractor(modality).reads == "media":
        files["media"] = clips(ds, None if shard is None else int(shard))
    if finetune_enabled(ds, modality):
        files["encoder"] = f"{RESULTS}/{ds}/text_encoder"
    return files


@cache  # audio and visual jobs of a shard read the same clips
def clips(ds, shard):
    return shard_media(planned_corpus(ds), shard, num_shards(ds))


def extraction_digest(ds, modality, shard=None):
    return corpus_digest(ds, READ_COLUMNS[extractor(modality).reads], None if shard is None else int(shard))


def extraction_cache(ds, modality):
    cache = extractor(modality).cache
    return f"{RESULTS}/{ds}/cache/{cache}" if cache else None


def variants(ds):
    return list(entry(ds).get("variants", config["default_variants"]))


def seeds(ds):
    where = f"config.yaml: datasets.{ds}.seeds" if "seeds" in entry(ds) else "config.yaml: seeds"
    return check_seeds(entry(ds).get("seeds", config["seeds"]), where)


def run_settings(ds, variant, seed):
    """Resolved model/train settings of one training job (preset + dataset + variant + seed).

    The same resolution as `multiemo train --dataset {ds} <variant's overrides> train.seed={seed}`.
    """
    if variant not in config["variants"]:
        raise ConfigError(f"dataset {ds!r} trains variant {variant!r}, which is not defined under 'variants'")
    overrides = list(config["variants"][variant]) + [f"train.seed={seed}"]
    try:
        return resolve_run_settings(config, ds, overrides)
    except ConfigError as err:
        raise ConfigError(f"dataset {ds!r}, variant {variant!r} {overrides[:-1]}: {err}") from None


def check_run_settings():
    """Resolve every training job and every variant now, so a bad setting fails `snakemake -n`, not a job."""
    for name, overrides in config["variants"].items():
        try:
            complete_settings(parse_overrides(overrides))
        except ConfigError as err:
            raise ConfigError(f"variant {name!r} {list(overrides)}: {err}") from None
    for ds in DATASETS:
        for variant in variants(ds):
            for seed in seeds(ds):
                run_settings(ds, variant, seed)


check_run_settings()


def run_metrics(ds, variant=None):
    chosen = [variant] if variant else variants(ds)
    return [f"{RESULTS}/{ds}/runs/{v}/seed_{s}/metrics.json" for v in chosen for s in seeds(ds)]


def main_variant(ds):
    return entry(ds).get("main_variant", variants(ds)[0])


def report_files(ds):
    names = ("results.md", "summary.json", "ablation.csv", "confusion_matrix.png", "curves.png", "results.html",
             "ablation.html", "extraction.html", "reliability.png")
    return [f"{RESULTS}/{ds}/report/{n}" for n in names]


# Prediction on a new conversation (rules/predict.smk), configured under `predict:`.
PREDICT = config.get("predict") or {}


def predict_run():
    """The configured run, or the default dataset's main variant, first seed."""
    if PREDICT.get("run"):
        return PREDICT["run"]
    ds = config["dataset"]
    return f"{RESULTS}/{ds}/runs/{main_variant(ds)}/seed_{seeds(ds)[0]}"


def predict_out():
    if PREDICT.get("out"):
        return PREDICT["out"]
    source = PREDICT.get("video") or PREDICT.get("manifest") or "conversation"
    return f"{RESULTS}/predict/{Path(source).stem}"


def predict_inputs(wildcards):
    if bool(PREDICT.get("video")) == bool(PREDICT.get("manifest")):
        raise ValueError(
            "the predict target needs predict.video (optionally with predict.transcript) or "
            "predict.manifest in config.yaml"
        )
    files = {"run": f"{predict_run()}/metrics.json"}
    files.update({k: PREDICT[k] for k in ("video", "transcript", "manifest") if PREDICT.get(k)})
    return files


def predict_settings():
    """The predict block's settings; the Snakefile filled in the schema's defaults (fill_defaults)."""
    return {k: PREDICT[k] for k in ("device", "window", "context", "low_confidence", "extraction", "segmentation",
                                    "diarization", "asr")}
