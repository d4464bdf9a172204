"""multiemo/models/ stays a model one can read in a sitting: at most 500 code lines.

Code lines are lines holding a token other than a comment, a docstring or a line break
(blank lines, comments and docstrings are not counted). Run as a script to print the count per file:

    python tests/models/test_code_lines.py
"""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "multiemo" / "models"
LIMIT = 500
_LAYOUT = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
           tokenize.ENCODING, tokenize.ENDMARKER}


def code_lines(source: str) -> int:
    """Number of lines of ``source`` that hold code (docstrings, comments and blank lines excluded)."""
    lines: set[int] = set()
    previous = tokenize.NEWLINE  # a string right after a line break (or at the start) is a docstring
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in _LAYOUT:
            if token.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                previous = tokenize.NEWLINE
            continue
        if not (token.type == tokenize.STRING and previous == tokenize.NEWLINE):
            lines.update(range(token.start[0], token.end[0] + 1))
        previous = token.type
    return len(lines)


def test_models_package_has_at_most_500_code_lines():
    counts = {p.name: code_lines(p.read_text()) for p in sorted(MODELS.glob("*.py"))}
    assert sum(counts.values()) <= LIMIT, counts


def test_counter_skips_docstrings_comments_and_blank_lines():
    source = 'def f(x):\n    """Doc\n    string."""\n\n    # why\n'
    source += '    y = """not a\n docstring"""\n    return x\n'
    assert code_lines(source) == 4  # def, the two lines of y's string, return


if __name__ == "__main__":
    counts = {p.name: code_lines(p.read_text()) for p in sorted(MODELS.glob("*.py"))}
    for name, count in counts.items():
        print(f"{count:5d}  {name}")
    print(f"{sum(counts.values()):5d}  total (limit {LIMIT})")
