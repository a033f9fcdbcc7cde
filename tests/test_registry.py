"""The experiment registry and the package's import layers (issue 16)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import metarl_neuro
from metarl_neuro.experiments import EXPERIMENTS, REGISTRY, Experiment, TrainingConfig, get

PACKAGE = Path(metarl_neuro.__file__).parent

#: lower layers first; a module may import only from its own layer or those below (DESIGN.md)
LAYERS = [
    {"tasks", "agents", "analysis", "schema", "logs", "run", "domains"},
    {"experiments"},
    {"simulate", "analyze", "reproduce", "sweep", "report", "__main__"},
]


def _layer(name: str) -> int:
    top = name.split(".")[0]
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"module {name!r} is in no layer: add it to LAYERS")


def _imports(path: Path):
    """``(module, inside_a_function)`` of every import of a metarl_neuro module in the file."""
    tree = ast.parse(path.read_text())
    inside = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f)}
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("metarl_neuro."):
            names = [node.module[len("metarl_neuro."):]]
        elif isinstance(node, ast.ImportFrom) and node.module == "metarl_neuro":
            names = [a.name for a in node.names if a.name != "__version__"]
        elif isinstance(node, ast.Import):
            names = [a.name[len("metarl_neuro."):] for a in node.names if a.name.startswith("metarl_neuro.")]
        for name in names:
            yield name, id(node) in inside


def test_no_module_imports_one_above_it():
    bad = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        if rel.name == "__init__" and len(rel.parts) == 1:
            continue
        me = ".".join(rel.parts)
        for target, lazy in _imports(path):
            if _layer(target) > _layer(me):  # lazy imports inside functions too: none climbs
                bad.append(f"{me} imports {target}" + (" (inside a function)" if lazy else ""))
    assert not bad, bad


def test_no_import_circle():
    """No module imports, through any chain of imports (inside functions too), a module that imports it back; a
    package imports what its ``__init__`` names."""
    import graphlib

    graph = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        me = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts) or "metarl_neuro"
        graph.setdefault(me, set()).update(t for t, _ in _imports(path) if t != me)
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as err:
        raise AssertionError(f"import circle: {' -> '.join(err.args[1])}") from None


def test_every_registered_experiment_is_complete():
    assert len(EXPERIMENTS) == len(REGISTRY)
    for name, exp in EXPERIMENTS.items():
        assert isinstance(exp, Experiment) and exp.name == name
        assert dataclasses.is_dataclass(exp.config) and issubclass(exp.config, TrainingConfig), name
        config = exp.config()
        assert exp.default_out(config) == Path("runs") / name / "seed0"
        assert callable(exp.simulate) and callable(exp.report) and callable(exp.summarize)
        assert exp.claims and all(c.paper for c in exp.claims), name
        assert exp.resources.get("num_cpus", 0) >= 1
        for key in exp.reduced:  # the reduced budget names real fields (and says why)
            assert key == "why" or key in {f.name for f in dataclasses.fields(exp.config)}, (name, key)
        assert not exp.reduced or exp.reduced.get("why")
        assert get(name.replace("-", "_")) is exp
        # the rule by which a run folder finds its experiment without importing the registry (Run.experiment)
        assert name.replace("-", "_") in REGISTRY, name


def test_get_names_the_registered_experiments():
    with pytest.raises(ValueError, match="unknown experiment 'nope'.*two-step"):
        get("nope")


def test_a_field_at_its_legacy_value_leaves_the_config_hash_as_it_was():
    """A field added later with a ``legacy`` value (``tsutsui --p0-change``, 0) is left out of the hash at that
    value, so the run folders written before it still count as finished; any other value changes the hash."""
    import hashlib
    import json

    from metarl_neuro.experiments import TsutsuiConfig, config_hash

    base = TsutsuiConfig()
    before = dataclasses.asdict(base)
    del before["p0_change"]  # the config as the folders written before the field recorded it
    assert config_hash(base) == hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:16]
    assert config_hash(TsutsuiConfig(p0_change=0.02)) != config_hash(base)
