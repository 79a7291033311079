"""The folders are the layers (docs/architecture.md): a layer imports only from the layers below it."""

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "wnlab"

#: layer -> the layers it may import from (params is the base every layer may read)
ALLOWED = {
    "params": set(),
    "problems": {"params"},
    "methods": {"params"},
    "engine": {"params", "problems", "methods"},
    "io": {"params", "methods"},
    "theory": {"params", "problems", "methods", "engine"},
    "bridges": {"params", "problems", "methods", "engine", "theory"},
    "sweep": {"params", "problems", "methods", "engine", "theory", "io"},
    "experiments": {"params", "problems", "methods", "engine", "theory", "io"},
    "cli": {"params", "problems", "methods", "engine", "theory", "io", "sweep", "experiments", "bridges"},
}


def _imports():
    """``(file, its layer, the layer it imports)`` for every relative import inside wnlab."""
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
            base = parts
        else:
            base = parts[:-1]
        if not parts or parts[0] == "__main__":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                target = base[: len(base) - (node.level - 1)] + (node.module.split(".") if node.module else [])
                names = target[:1] or [a.name for a in node.names]
                for name in names:
                    yield path.relative_to(SRC), parts[0], name


def test_every_module_belongs_to_a_layer():
    tops = {p.stem if p.is_file() else p.name for p in SRC.iterdir() if p.name != "__pycache__"
            and (p.suffix == ".py" or p.is_dir())}
    # examples/: package data that ``wnlab example`` prints (files for users to copy), not a layer
    assert tops - {"__init__", "__main__", "examples"} == set(ALLOWED)


def test_imports_go_down_the_layers():
    wrong = [(str(f), layer, target) for f, layer, target in _imports()
             if target != layer and target in ALLOWED and target not in ALLOWED[layer]]
    assert not wrong, wrong
