# What each rule's jobs ask the scheduler for: resources.<rule>.{mem_mb, runtime, threads} in config.yaml, whose
# defaults the schema states (workflow/schemas/config.schema.yaml); extraction rules read resources.features,
# with resources.<modality>_features over it.


def job_resource(rule, key, default=None):
    """resources.<rule>.<key> from the config (defaults filled from the schema); `{m}_features` rules read
    `features` with their own block over it; ``default`` when neither states the key."""
    blocks = config["resources"]
    values = dict(blocks.get("features", {})) if rule.endswith("_features") else {}
    values.update(blocks.get(rule, {}))
    return default if values.get(key) is None else int(values[key])
