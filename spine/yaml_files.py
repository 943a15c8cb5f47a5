"""Reading the project's YAML files (procedure data, narration scripts, the vocabulary, the lexicon,
the catalog, voice configs, review records, brand profiles) with one kind of answer to a bad file: a
:class:`~spine.errors.SpineError` of the caller's class, one line naming the file, the line and
column where there is one, and the fix. :func:`read_model` reads a file into a pydantic model, so
its shape is declared once (the model) instead of checked by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from spine.errors import SpineError

__all__ = ["read_yaml", "read_model", "validation_problem", "yaml_where", "yaml_problem"]

Model = TypeVar("Model", bound=BaseModel)

# libyaml's parser under PyYAML's safe constructor: the same values from every file of the project
# (compared file by file), about ten times faster than the pure-Python parser, which took most of
# the time of checking the catalog's freshness (93 files read for 27 videos).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def yaml_where(exc: Exception) -> str:
    """``:<line>:<column>`` of a YAML error (1-based), or ''."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""


def yaml_problem(exc: Exception) -> str:
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["unreadable"])[0]
    context = getattr(exc, "context", None)
    return f"{context}, {problem}" if context else str(problem)


def read_yaml(
    path: Path,
    error: type[SpineError],
    *,
    label: str | None = None,
    what: str = "",
    not_yaml: str = "not valid YAML",
    missing: str | None = None,
) -> Any:
    """The parsed contents of ``path``; ``error`` (one line) if it cannot be read, is not UTF-8 or
    is not YAML. ``label`` names the file in messages (default: the path), ``what`` says what the
    file is ("narration script"), ``missing`` is the whole message for a file that does not exist."""
    path = Path(path)
    name = label or str(path)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except FileNotFoundError as exc:
        if missing is not None:
            raise error(missing) from exc
        raise error(f"{name}: cannot read{' ' + what if what else ''}: {exc.strerror or exc}") from None
    except OSError as exc:
        raise error(f"{name}: cannot read{' ' + what if what else ''}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{name}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        raise error(f"{name}{yaml_where(exc)}: {not_yaml}: {yaml_problem(exc)}") from None


def validation_problem(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> tuple[str, str]:
    """(where, what) of the first problem pydantic found: ``screen.title`` and ``input should be a
    valid string`` (with how many more problems there are)."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in (*prefix, *first.get("loc", ())))
    what = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    what = what[:1].lower() + what[1:]
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return where, (what + more).replace("\n", " ")


def read_model(path: Path, model: type[Model], error: type[SpineError], *, hint: str = "", **reading: Any) -> Model:
    """The contents of ``path`` as ``model`` (an empty file: the model's defaults); ``error`` (one line)
    naming the file, the field and the problem if the file cannot be read (``reading``: the options of
    :func:`read_yaml`) or does not fit the model. ``hint`` ends that line (what the file should hold)."""
    name = reading.get("label") or str(path)
    data = read_yaml(path, error, **reading)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"{name}: expected a mapping of fields at the top{'; ' + hint if hint else ''}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where, problem = validation_problem(exc)
        raise error(f"{name}: {where + ': ' if where else ''}{problem}{'; ' + hint if hint else ''}") from None
