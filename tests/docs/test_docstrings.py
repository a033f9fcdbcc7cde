"""numpydoc validation of the public API's docstrings (``numpydoc.validate``).

Functions: every parameter documented, no unknown or misordered one, a Returns (or Yields) section, sections in
numpydoc's order, a one-line summary. Classes: no unknown or misordered parameter, sections in order, the summary.
Every public analysis function has a runnable Examples section (the doctests run in the default suite).

``KNOWN`` lists the docstrings that do not meet this (empty since issue 28): a name in it must still fail (the test
says when it passes), and a new public name must pass.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from numpydoc.validate import validate

MODULES = ["metarl_neuro.analysis", "metarl_neuro.analysis.hybrid", "metarl_neuro.run", "metarl_neuro.tasks",
           "metarl_neuro.agents", "metarl_neuro.experiments", "metarl_neuro.simulate", "metarl_neuro.analyze",
           "metarl_neuro.reproduce", "metarl_neuro.report", "metarl_neuro.sweep", "metarl_neuro.schema",
           "metarl_neuro.domains", "metarl_neuro.logs"]
FUNCTION_CHECKS = {"PR01", "PR02", "PR03", "PR07", "RT01", "GL07", "SS01", "SS03", "YD01"}
CLASS_CHECKS = {"PR02", "PR03", "PR07", "GL07", "SS01", "SS03"}

#: name -> the checks it is allowed to fail (none)
KNOWN: dict[str, set[str]] = {
}


def _public() -> list[tuple[str, object]]:
    seen, out = set(), []
    for module in MODULES:
        mod = importlib.import_module(module)
        names = getattr(mod, "__all__", None) or [
            n for n, o in vars(mod).items() if not n.startswith("_") and getattr(o, "__module__", "") == module]
        for name in names:
            obj = getattr(mod, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            out.append((f"{module}.{name}", obj))
    return out


def _failures(name: str, obj) -> set[str]:
    checks = CLASS_CHECKS if inspect.isclass(obj) else FUNCTION_CHECKS
    if name.startswith("metarl_neuro.analysis.") and inspect.isfunction(obj):
        checks = checks | {"EX01"}
    return {code for code, _ in validate(name)["errors"] if code in checks}


PUBLIC = _public()


@pytest.mark.parametrize("name, obj", PUBLIC, ids=[n for n, _ in PUBLIC])
def test_public_docstring(name, obj):
    failures = _failures(name, obj)
    known = KNOWN.get(name, set())
    new = failures - known
    messages = {code: msg for code, msg in validate(name)["errors"]}
    assert not new, f"{name}: " + "; ".join(f"{c} {messages[c]}" for c in sorted(new))
    fixed = known - failures
    assert not fixed, f"{name} now passes {sorted(fixed)}: remove them from KNOWN in {__file__}"


def test_the_known_list_names_public_objects():
    names = {n for n, _ in PUBLIC}
    assert not set(KNOWN) - names, sorted(set(KNOWN) - names)


#: a paper cited in a docstring's text, author-year style ("Daw et al. 2011", "Lau & Glimcher 2005")
CITATION = r"(?:[A-Z][a-z]+ (?:et al\.|&) ?(?:[A-Z][a-z]+ )?\(?(?:19|20)\d\d)"


ANALYSES = [(n, o) for n, o in PUBLIC if n.startswith("metarl_neuro.analysis.") and inspect.isfunction(o)]


@pytest.mark.parametrize("name, obj", ANALYSES, ids=[n for n, _ in ANALYSES])
def test_an_analysis_that_cites_a_paper_lists_it_under_references(name, obj):
    doc = inspect.getdoc(obj) or ""
    text = doc.split("\nReferences\n")[0]
    if re.search(CITATION, text):
        assert "\nReferences\n----------\n" in doc, f"{name} cites {re.findall(CITATION, text)[:3]} without References"
