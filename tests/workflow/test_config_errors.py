"""A config the workflow cannot use is one short message naming the place: a YAML syntax error names its
line, a schema error the key (not the ~100 lines of schema Snakemake's validate printed)."""

from __future__ import annotations

import yaml

from multiemo.settings import load_yaml
from tests.conftest import REPO
from tests.workflow.conftest import snakemake


def test_a_yaml_syntax_error_in_config_yaml_names_its_line(tmp_path):
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    at = lines.index("  demo:                          # generated MELD-layout corpus shipped in the repo "
                     "(make demo)")
    lines[at + 2] = "   root: workflow/demo/meld_layout"  # one space short: no longer in demo's block
    (tmp_path / "config.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = snakemake(tmp_path, "--dry-run", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Job stats" not in output
    assert f"config.yaml, line {at + 3}, column 4 is not valid YAML" in output, output[-3000:]


def test_a_schema_error_is_one_line_naming_the_dataset_and_key(tmp_path):
    config = load_yaml(REPO / "config.yaml")
    config["datasets"]["demo"]["train"] = {"lr": -1}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(tmp_path, "--dry-run", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Job stats" not in output
    assert ("['datasets']['demo']['train']['lr']: -1 is less than or equal to the minimum of 0"
            in output), output[-3000:]
    assert "additionalProperties" not in output and len(output.splitlines()) < 30, output
