"""Static checks of code cells: they parse, and define the functions the contract needs with usable signatures."""

from __future__ import annotations

import ast
from typing import Any

# cell -> function -> number of positional arguments it will be called with
REQUIRED = {
    "architecture": {"build_model": 2, "compile_model": 1},
    "training": {"fit_model": 4},
    "custom_score": {"score": 2},
}


def _callable_with(fn: ast.FunctionDef, n: int) -> bool:
    args = fn.args
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    if args.vararg is not None:
        return required <= n
    return required <= n <= positional


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def parse(cell: str, source: str) -> tuple[ast.Module | None, list[dict[str, Any]]]:
    """Parse SOURCE; on a syntax error return the error with the cell and line."""
    try:
        return ast.parse(source, filename=f"<{cell}>"), []
    except SyntaxError as exc:
        return None, [{"cell": cell, "line": exc.lineno or 1, "message": f"SyntaxError: {exc.msg}"}]
    except ValueError as exc:  # null bytes
        return None, [{"cell": cell, "line": 1, "message": f"The code cannot be parsed: {exc}"}]


def check_cell(cell: str, source: str, required: bool) -> list[dict[str, Any]]:
    """Errors of one cell: syntax, then (when REQUIRED) missing functions or unusable signatures."""
    if not source.strip():
        if required:
            return [{"cell": cell, "line": 1, "message": f"The {cell} cell is empty but this design needs it."}]
        return []
    tree, errors = parse(cell, source)
    if tree is None or not required:
        return errors
    funcs = _functions(tree)
    needed = dict(REQUIRED[cell])
    if cell == "training":
        name = "build_sequence" if "build_sequence" in funcs and "build_sequences" not in funcs else "build_sequences"
        needed[name] = 2
    for name, n_args in needed.items():
        fn = funcs.get(name)
        if fn is None:
            errors.append({"cell": cell, "line": 1, "message": f"The {cell} cell must define {name}()."})
        elif not _callable_with(fn, n_args):
            errors.append(
                {"cell": cell, "line": fn.lineno, "message": f"{name}() must accept {n_args} positional argument(s)."}
            )
    if cell == "custom_score":
        assigned = {
            t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
        }
        assigned |= {
            node.target.id
            for node in tree.body
            if isinstance(node, ast.AnnAssign) and node.value is not None and isinstance(node.target, ast.Name)
        }
        if "GREATER_IS_BETTER" not in assigned:
            errors.append({"cell": cell, "line": 1, "message": "The custom_score cell must set GREATER_IS_BETTER."})
    return errors


def check_code(code: dict[str, str], advanced: bool, custom_metric: bool) -> list[dict[str, Any]]:
    """Errors of all cells of a design."""
    errors = check_cell("architecture", code.get("architecture", ""), True)
    errors += check_cell("training", code.get("training", ""), advanced)
    errors += check_cell("custom_score", code.get("custom_score", ""), custom_metric)
    return errors
