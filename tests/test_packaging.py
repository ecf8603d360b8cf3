"""The installed layout: every package of the tree is listed in pyproject.toml, under the fxsim namespace."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.core

ROOT = Path(__file__).resolve().parents[1]


def _packages_on_disk() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set()
    for name, folder in config["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *rel.parts]))
    return found


def test_every_package_is_listed_and_namespaced():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = _packages_on_disk()
    assert on_disk - listed == set(), (
        f"packages missing from pyproject.toml [tool.setuptools] packages: {sorted(on_disk - listed)}"
    )
    assert listed - on_disk == set(), f"listed packages with no __init__.py: {sorted(listed - on_disk)}"
    assert all(p == "fxsim" or p.startswith("fxsim.") for p in listed)


def test_every_dependency_imported_is_declared():
    """Third-party modules imported by the library are declared (PyYAML was used but undeclared once)."""
    import ast
    import sys

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = " ".join([*project["dependencies"], *sum(project.get("optional-dependencies", {}).values(), [])]).lower()
    # import name -> distribution name where they differ
    dist = {"yaml": "pyyaml", "sklearn": "scikit-learn", "pythia8": "pythia8mc", "tensorflow": "tensorflow",
            "tf_keras": "tf-keras", "distributed": "dask",
            "tensorflow_model_optimization": "tensorflow-model-optimization"}
    local = {"fxsim", "tests"}
    missing = set()
    for folder in ("fxsim", "analysis", "models"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top in local or top in sys.stdlib_module_names:
                        continue
                    if dist.get(top, top).lower().replace("_", "-") not in declared.replace("_", "-"):
                        missing.add(f"{top} ({path.relative_to(ROOT)})")
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"
