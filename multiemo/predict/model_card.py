"""The README.md model card of an exported model, written from its config.json alone."""

from __future__ import annotations


def model_card(config: dict) -> str:
    """Markdown with Hugging Face front matter: data, split, seed, scores (oracle labelled), use, limits."""
    training = config.get("training") or {}
    train = training.get("train") or {}
    store = training.get("store") or {}
    scores = config.get("scores") or {}
    provenance = config.get("provenance") or {}
    modalities = list(config["input_dims"])
    lines = [
        "---",
        "library_name: multiemo",
        "tags: [emotion-recognition, emotion-recognition-in-conversation, multimodal]",
        "---",
        "",
        f"# MultiEMO emotion recognition model ({', '.join(modalities)})",
        "",
        "Classifies the emotion of every utterance of a conversation from its "
        f"{' + '.join(modalities)} features, with the MultiEMO architecture (Shi & Huang, ACL 2023) as "
        "implemented by multiemo. Labels: " + ", ".join(f"`{label}`" for label in config["labels"]) + ".",
        "",
        "## Load it",
        "",
        "```python",
        "import multiemo",
        "",
        'model = multiemo.load("path/to/this/folder")',
        *(['result = model.predict_video("talk.mp4", "talk.srt")  # or model.predict_features(...)', "```",
           "", "or `multiemo predict --model path/to/this/folder --video talk.mp4 --out predictions/`.", ""]
          if config.get("video_prediction", True) else
          ["probabilities = model.predict_features(features, dialogue_ids, speakers)", "```", "",
           ("**Video prediction is not available**: the model was trained on imported features, which record "
            "no extractor settings, so prediction cannot make features the same way. Give it features made "
            "as in training (`predict_features`)."), ""]),
        "## Data and split",
        "",
        f"- Feature store: `{store.get('name', 'unrecorded')}` (fingerprint `{store.get('fingerprint')}`).",
    ]
    for split, counts in (store.get("splits") or {}).items():
        lines.append(f"- {split}: {counts['dialogues']} dialogues, {counts['utterances']} utterances.")
    lines += [
        (f"- Seed {train.get('seed')}; {train.get('epochs')} epochs; the epoch kept "
        f"({training.get('best_epoch')}) was chosen on the validation split; the test split was scored once, "
        "on that epoch."),
        (f"- Precision: {config.get('precision')}; model.modality_dropout: "
        f"{(config.get('architecture') or {}).get('modality_dropout', 0.0)}."),
        ("- Features are made by the extractors recorded in config.json (`extraction`); prediction rebuilds "
        "them with the same settings and refuses settings that would change them."),
        *[f"- Carries `{entry['path']}` (for {modality}.{key}, sha256 `{entry['sha256'][:16]}…`), a copy of "
          f"`{entry['source']}`." for modality, keys in (config.get("files") or {}).items()
          for key, entry in keys.items()],
        *[f"- {modality}.{key}: hub model `{pin['hub']}` pinned to revision `{pin['revision']}`."
          for modality, keys in (config.get("pinned") or {}).items() for key, pin in keys.items()
          if "hub" in pin],
        "",
        "## Scores",
        "",
    ]
    if scores.get("test"):
        test, validation = scores["test"], scores.get("validation") or {}
        lines += [
            "| split | weighted-F1 | accuracy |",
            "|---|---|---|",
            (f"| validation | {validation.get('weighted_f1', float('nan')):.2f} | "
            f"{validation.get('accuracy', float('nan')):.2f} |"),
            f"| test (epoch chosen on validation) | {test['weighted_f1']:.2f} | {test['accuracy']:.2f} |",
            "",
        ]
        if "oracle_test_weighted_f1" in scores:
            lines += [
                ("ORACLE figure, not an estimate of performance: the best test weighted-F1 over all epochs "
                f"was {scores['oracle_test_weighted_f1']:.2f} (epoch {scores.get('oracle_epoch')}). It is "
                "chosen on the test set and reported only for comparison with papers that selected epochs "
                "that way."),
                "",
            ]
    else:
        lines += ["No scores: the run was exported before it was evaluated.", ""]
    if config.get("calibration"):
        lines += [f"Calibration: {config['calibration']}.", ""]
    lines += [
        "## Intended use and limitations",
        "",
        ("- Research on emotion recognition in conversations; predictions are probabilities per utterance, "
        "not judgements about people. Do not use them for decisions about individuals."),
        ("- The model knows only the labels above and the kind of recordings it was trained on (language, "
        "recording conditions, acted or spontaneous speech); expect lower accuracy elsewhere."),
        "- Scores were measured on one seed and one split; other seeds vary (see multiemo's BENCHMARKS.md).",
        ("- Missing modalities (no face, no transcript) use a learned stand-in; the model is less reliable "
        "for them when it was trained without modality dropout."),
        "",
        "## Versions",
        "",
        (f"- Trained with multiemo {provenance.get('multiemo', 'unrecorded')} "
        f"(git commit {provenance.get('git_commit')}); libraries {provenance.get('libraries')}."),
        f"- Text models and revisions: {config.get('text_models')}.",
        f"- Exported with multiemo {config['exported_with']['multiemo']}.",
        "",
    ]
    return "\n".join(lines)
