"""The packages' dependency order (pyproject.toml, [tool.importlinter]) holds, and covers every module."""

from __future__ import annotations

import pkgutil
import re
import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

import service_app

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"


def _layers() -> list[str]:
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    (layers,) = [contract["layers"] for contract in contracts if contract["id"] == "layers"]
    return layers


def test_imports_follow_the_layers(capsys):
    exit_code = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    assert exit_code == 0, capsys.readouterr().out


def test_every_module_of_the_package_has_a_layer():
    placed = {name for layer in _layers() for name in re.split(r"[|:]", layer)}
    modules = {f"service_app.{module.name}" for module in pkgutil.iter_modules(service_app.__path__)}
    assert modules == {name.strip() for name in placed}


def test_the_contract_catches_an_import_inside_a_function(tmp_path, monkeypatch, capsys):
    """A function-local import against the order breaks it too (the auth → org cycle hid in one)."""
    package = tmp_path / "layered_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "high.py").write_text("VALUE = 1\n")
    (package / "low.py").write_text("def late():\n    from layered_probe import high\n\n    return high.VALUE\n")
    config = tmp_path / "probe.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "layered_probe"\n\n'
        '[[tool.importlinter.contracts]]\nname = "probe"\ntype = "layers"\n'
        'layers = ["layered_probe.high", "layered_probe.low"]\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert lint_imports(config_filename=str(config), no_cache=True, no_logo=True) == 1
    assert "layered_probe.low -> layered_probe.high" in capsys.readouterr().out
