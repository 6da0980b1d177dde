"""ARCHITECTURE.md stays true: its layer table lists every module (packages' ``__init__`` too),
imports flow down only, and no private name crosses from one package to another."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "callbacksim"


def _layers() -> list[tuple[str, set[str]]]:
    """(layer, module names) from the table, top layer first. A cell names modules in backticks;
    ``pkg/`` stands for a subpackage (its ``__init__``, named ``pkg``, and every module of it),
    ``pkg/`` followed by names for those; ``callbacksim`` is the package's own ``__init__``."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    layers = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("layer", "---") or set(cells[0]) <= {"-"}:
            continue
        names = re.findall(r"`([^`]+)`", cells[1])
        if not names:
            continue
        modules: set[str] = set()
        package = None
        for name in names:
            if name.endswith("/"):
                package = name.rstrip("/")
                continue
            modules.add(f"{package}.{name}" if package else name)
        if package and not any(m.startswith(package + ".") for m in modules):
            modules |= {_module(p) for p in (PACKAGE / package).glob("*.py")}
        elif package:
            modules.add(package)
        layers.append((cells[0], modules))
    return layers


def _module(path: Path) -> str:
    """The module's name below ``callbacksim``; a package's ``__init__`` is the package."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "callbacksim"


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (annotation-only imports)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            skip |= {id(n) for child in node.body for n in ast.walk(child)}
    return [n for n in ast.walk(tree) if id(n) not in skip]


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("callbacksim"):
            base = (node.module or "").removeprefix("callbacksim").lstrip(".")
            found.add(base or "callbacksim")
            found |= {f"{base}.{alias.name}".lstrip(".") for alias in node.names}
        elif isinstance(node, ast.Import):
            names = (a.name for a in node.names if a.name.startswith("callbacksim."))
            found |= {n.removeprefix("callbacksim.") for n in names}
    return found


def _layer_of(module: str, layers: list[tuple[str, set[str]]]) -> int | None:
    for index, (_, modules) in enumerate(layers):
        if module in modules:
            return index
    return None


def _package(module: str) -> str:
    """The package a module belongs to (a package's ``__init__`` is the package itself)."""
    if module == "callbacksim" or (PACKAGE / module.replace(".", "/")).is_dir():
        return module
    return module.rpartition(".")[0] or "callbacksim"


def _upward(module: str, tree: ast.AST, layers: list[tuple[str, set[str]]]) -> list[str]:
    """The imports of ``module`` (parsed as ``tree``) that flow up the layers."""
    own = _layer_of(module, layers)
    if own is None:
        return []
    wrong = []
    for target in _imports(tree):
        other = _layer_of(target, layers)
        if other is not None and other < own:
            wrong.append(f"{module} ({layers[own][0]}) imports {target} ({layers[other][0]})")
    return wrong


def _private_crossings(module: str, tree: ast.AST) -> list[str]:
    """Private names (``_x``, not dunders) that ``module`` imports from another package."""
    wrong = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith(
            "callbacksim"
        ):
            continue
        source = (node.module or "").removeprefix("callbacksim").lstrip(".") or "callbacksim"
        private = [a.name for a in node.names if a.name.startswith("_") and a.name[1:2] != "_"]
        if private and _package(source) != _package(module):
            wrong.append(f"{module} imports {private} from {source}")
    return wrong


def _modules() -> dict[str, ast.AST]:
    return {_module(p): ast.parse(p.read_text(encoding="utf-8")) for p in PACKAGE.rglob("*.py")}


def test_every_module_is_in_the_layer_table() -> None:
    listed = set().union(*(m for _, m in _layers()))
    modules = set(_modules())
    assert not sorted(modules - listed), f"not in ARCHITECTURE.md: {sorted(modules - listed)}"
    assert not sorted(listed - modules), (
        f"in ARCHITECTURE.md, not in the tree: {sorted(listed - modules)}"
    )


def test_imports_flow_down_the_layers() -> None:
    layers = _layers()
    wrong = [w for module, tree in _modules().items() for w in _upward(module, tree, layers)]
    assert not wrong, "imports that flow up:\n" + "\n".join(sorted(wrong))


def test_no_private_name_crosses_packages() -> None:
    wrong = [w for module, tree in _modules().items() for w in _private_crossings(module, tree)]
    assert not wrong, "private names imported across packages:\n" + "\n".join(sorted(wrong))


def test_the_checks_catch_what_they_must() -> None:
    """An upward import, one in a package's ``__init__`` and a crossing private name are caught;
    an annotation-only import and a private name within its own package are not."""
    layers = _layers()
    up = ast.parse("from callbacksim.simulator.replay import replay\n")
    assert _upward("rules", up, layers)
    assert _upward("strategies", up, layers)  # a package's __init__ is checked too
    assert not _upward("cli", up, layers)
    typing_only = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from callbacksim.simulator.replay import replay\n"
    )
    assert not _upward("rules", typing_only, layers)
    private = ast.parse("from callbacksim.generation.lifecycle import _Run\n")
    assert _private_crossings("strategies", private)
    assert not _private_crossings("generation.machine", private)
    assert not _private_crossings("cli", ast.parse("from callbacksim import __version__\n"))


LOCUST_FACING = {"load.users", "load.worker", "load.master", "load.locustfile", "load.__main__"}
"""The modules that may import Locust or gevent (importing Locust patches the standard library)."""
_GEVENT_WORLD = ("locust", "gevent", "geventhttpclient", "zmq")


def _third_party(tree: ast.AST) -> set[str]:
    """The top-level names of what ``tree`` imports from outside the package."""
    found = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
    return found


def _locust_problems(modules: dict[str, ast.AST]) -> list[str]:
    wrong = []
    for module, tree in modules.items():
        gevent_world = sorted(_third_party(tree) & set(_GEVENT_WORLD))
        if gevent_world and module not in LOCUST_FACING:
            wrong.append(f"{module} imports {gevent_world}: only {sorted(LOCUST_FACING)} may")
        facing = sorted(_imports(tree) & LOCUST_FACING)
        if facing and module not in LOCUST_FACING:
            wrong.append(f"{module} imports the Locust-facing {facing}")
    return wrong


def test_only_the_locust_facing_modules_import_locust() -> None:
    assert set(_modules()) >= LOCUST_FACING
    wrong = _locust_problems(_modules())
    assert not wrong, "\n".join(wrong)


def test_the_locust_check_catches_what_it_must() -> None:
    assert _locust_problems({"jobs.load": ast.parse("import gevent\n")})
    assert _locust_problems({"views.report": ast.parse("from locust import User\n")})
    assert _locust_problems({"load": ast.parse("from callbacksim.load.users import X\n")})
    assert _locust_problems({"cli": ast.parse("import callbacksim.load.worker\n")})
    assert not _locust_problems({"load.worker": ast.parse("import gevent\nimport locust\n")})
    assert not _locust_problems({"load.users": ast.parse("from callbacksim.load import worker\n")})
