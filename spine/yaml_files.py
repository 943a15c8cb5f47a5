"""Reading the project's YAML files (procedure data, narration scripts, the vocabulary, the lexicon,
the catalog, voice configs, review records, brand profiles) with one kind of answer to a bad file: a
:class:`~spine.errors.SpineError` of the caller's class, one line naming the file, the line and
column where there is one, and the fix. :func:`read_model` reads a file into a pydantic model, so
its shape is declared once (the model) instead of checked by hand.

A model of a file's part derives from :class:`FileModel`: an unknown key is said with the keys that
are allowed (``unknown key(s) colour; allowed: video, level, side, lang, voice``), which pydantic's
own "extra inputs are not permitted" does not say. A reader may name the place of a problem in its
file's own words (``catalog.yaml entry 2``, ``beat 'needle'``) with ``locate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Callable, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator

from spine.errors import SpineError

__all__ = [
    "FileModel",
    "Locate",
    "Text",
    "read_yaml",
    "read_model",
    "validation_problem",
    "yaml_where",
    "yaml_problem",
]

Model = TypeVar("Model", bound=BaseModel)
#: where a problem is, in the file's own words, from pydantic's location and the file's parsed data
Locate = Callable[[tuple[Any, ...], Any], str]
#: a non-empty string, stripped
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class FileModel(BaseModel):
    """A mapping of a YAML file: no keys but its fields (or their aliases); an unknown one is said
    with the allowed ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = [field.alias or name for name, field in cls.model_fields.items()]
            unknown = [str(key) for key in data if key not in allowed]
            if unknown:
                raise ValueError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
        return data


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


def validation_problem(
    exc: ValidationError, prefix: tuple[Any, ...] = (), locate: Locate | None = None, data: Any = None
) -> tuple[str, str]:
    """(where, what) of the first problem pydantic found: ``screen.title`` and ``input should be a
    valid string`` (with how many more problems there are). ``locate`` names the place instead of
    the dotted path (given the location and ``data``, what was validated)."""
    errors = exc.errors()
    first = errors[0]
    loc = (*prefix, *first.get("loc", ()))
    where = locate(loc, data) if locate is not None else ".".join(str(part) for part in loc)
    what = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    kind = first.get("type")
    if kind == "missing":
        what = "missing"
    elif kind in ("string_too_short", "too_short") and first.get("ctx", {}).get("min_length") == 1:
        what = "empty"
    elif kind in ("model_type", "dict_type"):
        what = "expected a mapping of keys to values"
    what = what[:1].lower() + what[1:]
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return where, (what + more).replace("\n", " ")


def read_model(
    path: Path,
    model: type[Model],
    error: type[SpineError],
    *,
    hint: str = "",
    locate: Locate | None = None,
    **reading: Any,
) -> Model:
    """The contents of ``path`` as ``model`` (an empty file: the model's defaults); ``error`` (one line)
    naming the file, the field and the problem if the file cannot be read (``reading``: the options of
    :func:`read_yaml`) or does not fit the model. ``hint`` ends that line (what the file should hold);
    ``locate`` names the place of a problem (default: the dotted path, ``variants.1.level``)."""
    name = reading.get("label") or str(path)
    data = read_yaml(path, error, **reading)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"{name}: expected a mapping of fields at the top{'; ' + hint if hint else ''}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where, problem = validation_problem(exc, locate=locate, data=data)
        raise error(f"{name}: {where + ': ' if where else ''}{problem}{'; ' + hint if hint else ''}") from None
