"""Static checks of code cells: they parse, and define the functions the contract needs with usable signatures."""

from __future__ import annotations

import ast
import threading
from typing import Any

from core import cells


def _callable_with(fn: ast.FunctionDef, n: int) -> bool:
    args = fn.args
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    if args.vararg is not None:
        return required <= n
    return required <= n <= positional


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _error(cell: str, line: int, message: str) -> dict[str, Any]:
    return {"cell": cell, "line": line, "message": message}


# CPython 3.11 keeps the AST constructor's recursion count in one place for all threads: two requests parsing at once
# (a finaliser run by the garbage collector mid-parse lets another thread in) failed with "SystemError: AST
# constructor recursion depth mismatch", a 500 (tests/server/services/test_code_check_threads.py).
_AST_LOCK = threading.Lock()


def parse_python(source: str, filename: str = "<unknown>") -> ast.Module:
    """ast.parse, one thread at a time (see _AST_LOCK)."""
    with _AST_LOCK:
        return ast.parse(source, filename=filename)


def parse(cell: str, source: str) -> tuple[ast.Module | None, list[dict[str, Any]]]:
    """Parse SOURCE; on a syntax error return the error with the cell and line."""
    try:
        return parse_python(source, f"<{cell}>"), []
    except SyntaxError as exc:
        return None, [_error(cell, exc.lineno or 1, f"SyntaxError: {exc.msg}")]
    except ValueError as exc:  # null bytes
        return None, [_error(cell, 1, f"The code cannot be parsed: {exc}")]


def _function_errors(cell: str, tree: ast.Module) -> list[dict[str, Any]]:
    """The contract's functions CELL lacks, or defines with a signature they cannot be called with."""
    funcs = _functions(tree)
    errors = []
    for needed in cells.required_functions(cell, funcs.__contains__):
        fn = funcs.get(needed.name)
        if fn is None:
            errors.append(_error(cell, 1, f"The {cell} cell must define {needed.name}()."))
        elif not _callable_with(fn, needed.arity):
            errors.append(
                _error(cell, fn.lineno, f"{needed.name}() must accept {needed.arity} positional argument(s).")
            )
    return errors


def _assigned_names(tree: ast.Module) -> set[str]:
    """The names a module assigns at its top level (plain or annotated with a value)."""
    names = {
        t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
    }
    return names | {
        node.target.id
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and node.value is not None and isinstance(node.target, ast.Name)
    }


def check_cell(cell: str, source: str, required: bool) -> list[dict[str, Any]]:
    """Errors of one cell: syntax, then (when REQUIRED) missing functions or unusable signatures."""
    if not source.strip():
        return [_error(cell, 1, f"The {cell} cell is empty but this design needs it.")] if required else []
    tree, errors = parse(cell, source)
    if tree is None or not required:
        return errors
    errors += _function_errors(cell, tree)
    if cell == cells.CUSTOM_SCORE and cells.GREATER_IS_BETTER not in _assigned_names(tree):
        errors.append(_error(cell, 1, f"The {cell} cell must set {cells.GREATER_IS_BETTER}."))
    return errors


def check_code(code: dict[str, str], advanced: bool, custom_metric: bool) -> list[dict[str, Any]]:
    """Errors of all cells of a design."""
    errors = check_cell(cells.ARCHITECTURE, code.get(cells.ARCHITECTURE, ""), True)
    errors += check_cell(cells.TRAINING, code.get(cells.TRAINING, ""), advanced)
    errors += check_cell(cells.CUSTOM_SCORE, code.get(cells.CUSTOM_SCORE, ""), custom_metric)
    return errors
