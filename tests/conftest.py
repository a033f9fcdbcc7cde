import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Tables cached by the code under test (Gittins indices) go to a temporary folder, not ~/.cache."""
    monkeypatch.setenv("METARL_NEURO_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


# tests/stand_in holds a fake `deepmind_lab` module that the PsychLab tests load explicitly; it must not be
# imported as a side effect of collection (--doctest-modules would put it on sys.path).
collect_ignore = ["stand_in"]
