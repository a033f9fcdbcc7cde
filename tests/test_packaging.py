"""The version is written once (metarl_neuro.__version__) and the files that quote it agree (issue 28)."""

import re
from pathlib import Path

import metarl_neuro

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_single_sourced():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and 'attr = "metarl_neuro.__version__"' in pyproject
    project = pyproject.split("[project]")[1].split("\n[")[0]
    assert not re.search(r'^version\s*=', project, re.M)  # no second copy in [project]
    citation = (ROOT / "CITATION.cff").read_text()
    assert re.search(r"^version: (\S+)$", citation, re.M).group(1) == metarl_neuro.__version__
    assert f"## [{metarl_neuro.__version__}]" in (ROOT / "CHANGELOG.md").read_text()


def test_the_licence_and_the_third_party_notices_ship():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license-files = ["LICENSE", "NOTICE"]' in pyproject
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    notice = (ROOT / "NOTICE").read_text()
    for path in ("tests/reference/hbayesdm/ts_exampleData.txt", "tests/reference/hbayesdm_stan/stan/",
                 "tests/data/nussenbaum2020/"):
        assert path in notice and (ROOT / path).exists(), path
