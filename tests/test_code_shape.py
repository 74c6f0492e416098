"""The package stays readable in one sitting per file: modules under 420 lines, functions under 80, and the files
its docstrings and comments name exist in this repository (it ships without anything beside it)."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted((ROOT / "lora_studio").rglob("*.py"))
MAX_MODULE_LINES = 420
MAX_FUNCTION_LINES = 80
# Files of other projects the docstrings cite as the source of a format (kohya sd-scripts).
OTHER_PROJECTS_FILES = {"train_network.py", "networks/lora.py", "library/sai_model_spec.py", "sai_model_spec.py"}
FILE_REFERENCE = re.compile(r"(?<![\w./<>-])((?:[\w-]+/)*[\w-]+\.(?:py|md)|configs/[\w.-]+\.yaml)\b")


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_every_module_is_under_420_lines():
    long = {_name(p): n for p in MODULES if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these modules along a real seam: {long}"


def test_every_function_is_under_80_lines():
    long = {}
    for path in MODULES:
        for node in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                long[f"{_name(path)}:{node.lineno} {node.name}"] = length
    assert not long, f"split these functions: {long}"


def _docs_and_comments(source: str) -> str:
    """Module, class and function docstrings and # comments: where the package tells a reader to look."""
    tree = ast.parse(source)
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)))]
    docs = [ast.get_docstring(n) or "" for n in nodes]
    comments = [tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT]
    return "\n".join(docs + comments)


def _repo_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: the repository's file list is unknown")
    return listed.stdout.split()


def test_every_file_the_docstrings_name_is_in_the_repository():
    files = _repo_files()
    missing = {}
    for path in MODULES:
        for ref in FILE_REFERENCE.findall(_docs_and_comments(path.read_text(encoding="utf-8"))):
            if ref in OTHER_PROJECTS_FILES or any(f == ref or f.endswith("/" + ref) for f in files):
                continue
            missing.setdefault(_name(path), []).append(ref)
    assert not missing, f"these docstrings or comments name files the repository does not have: {missing}"


def test_no_docstring_points_outside_the_repository():
    outside = re.compile(r"\.\./shared|/work/|/home/|\b(?:DESIGN|PERFORMANCE|LESSON)\.md")
    found = {_name(p): outside.findall(_docs_and_comments(p.read_text(encoding="utf-8"))) for p in MODULES}
    assert not {k: v for k, v in found.items() if v}, found
