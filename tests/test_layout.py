"""The maps of the package match the tree: README's "How it works" block and daemon's docstring
name every folder and top-level module of daemon/, and nothing that is not there."""

from __future__ import annotations

import re
from pathlib import Path

import daemon

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "daemon"


def tree() -> set[str]:
    """daemon/'s folders as ``name/`` and its top-level modules as ``name.py``."""
    names = set()
    for path in PACKAGE.iterdir():
        if path.is_dir() and path.name != "__pycache__":
            names.add(f"{path.name}/")
        elif path.suffix == ".py" and path.name != "__init__.py":
            names.add(path.name)
    return names


def readme_map() -> set[str]:
    """The entries of the README's map: the code block under "How it works" that starts with
    ``daemon/``; an entry is a line indented by exactly two spaces, its first word the name."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## How it works\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"^```\ndaemon/\n(.*?)^```$", section, re.M | re.S)
    assert block is not None, "no daemon/ map in README's How it works"
    return {m.group(1) for m in re.finditer(r"^  (\S+)", block.group(1), re.M)}


def docstring_map() -> set[str]:
    """The entries of the package docstring's list: ``- ``name``  what it is``; a module is
    written without ``.py``."""
    doc = daemon.__doc__ or ""
    names = set()
    for m in re.finditer(r"^- ``([\w/]+)``", doc, re.M):
        name = m.group(1)
        names.add(name if name.endswith("/") else f"{name}.py")
    names |= {f"{m}.py" for m in re.findall(r"``(__\w+__)``", doc)}
    return names


def test_the_readme_map_reads_entries():
    # The parser itself: a map it could not read would make the next tests pass vacuously.
    assert {"sources/", "cli.py"} <= readme_map()


def test_every_folder_and_module_of_daemon_is_in_the_readme_map():
    assert sorted(tree() - readme_map()) == []


def test_the_readme_map_names_nothing_that_is_not_there():
    assert sorted(readme_map() - tree()) == []


def test_the_package_docstring_names_every_folder_and_module():
    assert sorted(tree() - docstring_map()) == []
    assert sorted(docstring_map() - tree()) == []
