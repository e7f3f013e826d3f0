"""The code-cell contract (code-cells.md): the cells, the functions each defines and how they are called.

The API checks it statically (server/services/code_check.py) and the child calls it (worker/runtime/trainer.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ARCHITECTURE = "architecture"
TRAINING = "training"
CUSTOM_SCORE = "custom_score"


@dataclass(frozen=True)
class CellFunction:
    """A function a cell must define, and how many positional arguments it is called with."""

    name: str
    arity: int


BUILD_MODEL = CellFunction("build_model", 2)  # (input_shapes, n_classes)
COMPILE_MODEL = CellFunction("compile_model", 1)  # (model)
BUILD_SEQUENCES = CellFunction("build_sequences", 2)  # (build_train_…_with_batch_size, build_validation_…)
FIT_MODEL = CellFunction("fit_model", 4)  # (model, train_sequence, validation_sequence, base_callbacks)
SCORE = CellFunction("score", 2)  # (y_true, y_pred)
BUILD_SEQUENCE_ALIAS = "build_sequence"  # DSS's docs spell it in the singular: accepted too
GREATER_IS_BETTER = "GREATER_IS_BETTER"  # the custom_score cell's direction

# The functions each cell must define, besides build_sequences (whose name depends on the alias).
REQUIRED: dict[str, tuple[CellFunction, ...]] = {
    ARCHITECTURE: (BUILD_MODEL, COMPILE_MODEL),
    TRAINING: (FIT_MODEL,),
    CUSTOM_SCORE: (SCORE,),
}


def sequences_function(defines: Callable[[str], bool]) -> CellFunction:
    """The training cell's build_sequences, under the singular alias when only that one is defined."""
    if defines(BUILD_SEQUENCE_ALIAS) and not defines(BUILD_SEQUENCES.name):
        return CellFunction(BUILD_SEQUENCE_ALIAS, BUILD_SEQUENCES.arity)
    return BUILD_SEQUENCES


def required_functions(cell: str, defines: Callable[[str], bool]) -> tuple[CellFunction, ...]:
    """Every function CELL must define; DEFINES tells whether the cell defines a name (for the alias)."""
    if cell == TRAINING:
        return (*REQUIRED[cell], sequences_function(defines))
    return REQUIRED[cell]
