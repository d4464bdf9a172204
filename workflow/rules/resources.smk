# What each rule's jobs ask the scheduler for: resources.<rule>.{mem_mb, runtime, threads} in config.yaml, whose
# defaults the schema states (workflow/schemas/config.schema.yaml); extraction rules read resources.features,
# with resources.<modality>_features over it.

# Where each extractor's jobs run: conda env (envs/{env}.yaml), threads, and whether they ask for
# resources.extraction_gpu GPUs. Scheduling facts, so the workflow's, not the library's extractor registry.
# resources.<modality>_features in config.yaml states them for a plugin extractor (env, threads, gpu) or
# overrides these; a modality stated nowhere runs in the train env, on one thread, without a GPU.
EXTRACTION_JOBS = {
    "text": {"env": "text", "threads": 2, "gpu": True},
    "audio": {"env": "audio"},
    "visual": {"env": "visual", "gpu": True},
}
EXTRACTION_JOB_DEFAULTS = {"env": "train", "threads": 1, "gpu": False}


def extraction_job(modality, key):
    """env, threads or gpu of a modality's extraction jobs: resources.<modality>_features in config.yaml
    (for threads also resources.features), else EXTRACTION_JOBS, else EXTRACTION_JOB_DEFAULTS."""
    own = {**EXTRACTION_JOB_DEFAULTS, **EXTRACTION_JOBS.get(modality, {})}
    if key == "threads":
        return job_resource(f"{modality}_features", "threads", own["threads"])
    stated = config["resources"].get(f"{modality}_features", {}).get(key)
    return own[key] if stated is None else stated


def job_resource(rule, key, default=None):
    """resources.<rule>.<key> from the config (defaults filled from the schema); `{m}_features` rules read
    `features` with their own block over it; ``default`` when neither states the key."""
    blocks = config["resources"]
    values = dict(blocks.get("features", {})) if rule.endswith("_features") else {}
    values.update(blocks.get(rule, {}))
    return default if values.get(key) is None else int(values[key])
