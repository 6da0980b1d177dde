"""ARCHITECTURE.md stays true: its layer table lists every module, and imports flow down only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "callbacksim"


def _layers() -> list[tuple[str, set[str]]]:
    """(layer, module names) from the table, top layer first. A cell names modules in backticks;
    ``pkg/`` stands for every module of a subpackage, ``pkg/`` followed by names for those."""
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
            modules |= {f"{package}.{p.stem}" for p in (PACKAGE / package).glob("*.py")}
        layers.append((cells[0], modules))
    return layers


def _module(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    return ".".join(rel.parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (annotation-only imports)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            skip |= {id(n) for child in node.body for n in ast.walk(child)}
    return [n for n in ast.walk(tree) if id(n) not in skip]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("callbacksim"):
            base = (node.module or "").removeprefix("callbacksim").lstrip(".")
            found.add(base)
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


def test_every_module_is_in_the_layer_table() -> None:
    listed = set().union(*(m for _, m in _layers()))
    modules = {_module(p) for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"}
    assert not sorted(modules - listed), f"not in ARCHITECTURE.md: {sorted(modules - listed)}"


def test_imports_flow_down_the_layers() -> None:
    layers = _layers()
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        module = _module(path)
        if module.endswith("__init__"):
            continue
        own = _layer_of(module, layers)
        if own is None:
            continue
        for target in _imports(path):
            other = _layer_of(target, layers)
            if other is not None and other < own:
                wrong.append(f"{module} ({layers[own][0]}) imports {target} ({layers[other][0]})")
    assert not wrong, "imports that flow up:\n" + "\n".join(sorted(wrong))
