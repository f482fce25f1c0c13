"""The house rules, read from the code: imports run one way, down `LAYERS`; no two modules import each other,
directly or round a circle; `lab` never imports Streamlit; no page loads TensorFlow when it is opened; and each
package does not import what its docstring says it must not.

Every import counts, those inside functions and under `TYPE_CHECKING` included: a cycle that only closes at run
time is still a cycle for whoever reads or moves the code. The README states the same order ("How the code is
laid out"); `test_the_readme_states_the_order` keeps the two in step.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Top to bottom: a module may import its own layer and the layers below it, never one above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pages", ("streamlit_app", "app_pages")),
    ("command line", ("lab.cli", "lab.__main__")),
    ("what the doors share", ("lab.workspace", "lab.access", "lab.leftovers")),
    ("replays", ("lab.replays",)),
    ("runs", ("lab.runs",)),
    ("inspection", ("lab.inspection",)),
    ("training", ("lab.training",)),
    ("evaluation", ("lab.evaluation",)),
    ("augmentation", ("lab.augment",)),
    ("data", ("lab.data",)),
    ("ground", ("lab.errors", "lab.settings", "lab.paths", "lab.storage", "lab.progress", "lab.run_files", "lab")),
)
TENSORFLOW = ("tensorflow", "keras", "tf_keras")


@dataclass(frozen=True)
class Import:
    """One import statement of a module: what it names, and whether it runs when the module is loaded."""

    target: str
    line: int
    at_load: bool


def modules() -> dict[str, Path]:
    """Every module of the app and the `lab` package, by dotted name."""
    found = {"streamlit_app": REPO / "streamlit_app.py"}
    for path in [*REPO.glob("lab/**/*.py"), *REPO.glob("app_pages/*.py")]:
        parts = path.relative_to(REPO).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


@cache
def imports_of(name: str) -> tuple[Import, ...]:
    path = modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return tuple(_walk(ast.parse(path.read_text()), package, at_load=True))


def _walk(node: ast.AST, package: str, at_load: bool) -> Iterator[Import]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import):
            yield from (Import(alias.name, child.lineno, at_load) for alias in child.names)
        elif isinstance(child, ast.ImportFrom):
            base = _absolute(child, package)
            yield Import(base, child.lineno, at_load)
            yield from (Import(f"{base}.{alias.name}", child.lineno, at_load) for alias in child.names)
        else:
            inside_function = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            yield from _walk(child, package, at_load and not inside_function and not _type_checking(child))


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def internal(target: str) -> str | None:
    """The repo module an import names (`from lab.data import scan` names `lab.data.scan` or `lab.data`)."""
    known = modules()
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules()}
    for name in graph:
        for found in imports_of(name):
            target = internal(found.target)
            if target and target != name and not name.startswith(target + "."):  # a package's own __init__
                graph[name].add(target)
    return graph


def layer_of(name: str) -> int:
    best: tuple[int, int] | None = None  # (length of the matching prefix, layer index): the longest prefix wins
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + "."):
                best = max(best or (0, index), (len(prefix), index))
    assert best is not None, f"{name} is in no layer: add it to LAYERS (and the README's order)"
    return best[1]


def cycles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    graph, index, low, stack, on_stack, found = edges(), {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_is_in_an_import_cycle() -> None:
    assert cycles() == []


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [f"{name} ({LAYERS[layer_of(name)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
              for name, targets in edges().items() for target in sorted(targets)
              if layer_of(target) < layer_of(name)]
    assert upward == []


def test_lab_never_imports_streamlit() -> None:
    found = [f"{name}:{i.line}" for name in modules() if name.split(".")[0] == "lab"
             for i in imports_of(name) if i.target.split(".")[0] == "streamlit"]
    assert found == []


def loaded_with(name: str) -> set[str]:
    """The repo modules importing `name` loads (itself, its packages' `__init__`s, and what they load in turn)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        parent = current.rpartition(".")[0]
        todo += [parent] if parent in modules() else []
        todo += [t for i in imports_of(current) if i.at_load and (t := internal(i.target))]
    return seen


@pytest.mark.parametrize("page", ["streamlit_app", *sorted(m for m in modules() if m.startswith("app_pages."))])
def test_opening_a_page_does_not_load_tensorflow(page: str) -> None:
    """TensorFlow takes 10-20 s to import on these machines: a page that loads it at import holds the first visit."""
    found = sorted(f"{name}:{i.line} imports {i.target}" for name in loaded_with(page) for i in imports_of(name)
                   if i.at_load and i.target.split(".")[0] in TENSORFLOW)
    assert found == []


def packages() -> list[str]:
    return sorted(name for name, path in modules().items() if path.name == "__init__.py" and name != "lab")


@pytest.mark.parametrize("package", packages())
def test_each_package_keeps_its_docstrings_promise(package: str) -> None:
    """Each package says what it must not import; what it names there (Streamlit, `lab.x`) it does not import."""
    docstring = ast.get_docstring(ast.parse(modules()[package].read_text())) or ""
    promise = re.search(r"[Mm]ust not\s+import(.*?)(?:\.\s|\.$)", docstring, re.DOTALL)
    assert promise, f"{package}'s docstring does not say what it must not import"
    forbidden = set(re.findall(r"`(lab(?:\.\w+)+)`", promise.group(1)))
    forbidden |= {"streamlit"} if "Streamlit" in promise.group(1) else set()
    broken = [f"{name}:{i.line} imports {i.target}" for name in modules() if name.startswith(package + ".")
              or name == package for i in imports_of(name)
              if any(i.target == f or i.target.startswith(f + ".") for f in forbidden)]
    assert broken == []


def test_the_readme_states_the_order() -> None:
    readme = " ".join((REPO / "README.md").read_text().split())
    order = " → ".join(name for name, _ in LAYERS)
    assert f"Imports run one way, down this order: {order}." in readme


def test_the_readme_maps_every_module() -> None:
    """The code map in the README names every module (by its path, or by its file name in a row of its folder)."""
    readme = (REPO / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    missing = []
    for name, path in modules().items():
        relative = path.relative_to(REPO)
        if path.name == "__init__.py" or name == "lab.__main__":
            continue
        folder = f"`{relative.parent}/"
        if f"`{relative}`" not in readme and not any(folder in row and f"`{path.name}`" in row for row in rows):
            missing.append(str(relative))
    assert missing == []


@pytest.mark.parametrize("page", sorted(path.name for path in (REPO / "app_pages").glob("*.py")))
def test_no_page_file_is_over_300_lines(page: str) -> None:
    """Pages are thin views: a rule a CLI or another page would need belongs in `lab`."""
    assert len((REPO / "app_pages" / page).read_text().splitlines()) <= 300
