"""Reading the config: TOML read with ``tomllib``, converted into the schema's dataclasses.

Durations and times of day are read here, once, into ``Duration`` and ``datetime.time`` values
(an unreadable one is a problem naming its key); the rest of casewatch uses those values.

Unknown keys are errors; every problem, of the types here and of the values
(``daemon.config.validate``), is collected and reported at once (``ConfigError``). Relative
paths of a file read are made relative to its folder (``PATH_KEYS``).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from daemon.config.schema import Config
from daemon.config.validate import read_clock, read_duration, validate
from daemon.errors import ConfigError, Problem, UsageError
from daemon.timeparts import Duration

DEFAULT_PATH = "config.toml"
ENV_VAR = "CASEWATCH_CONFIG"

T = TypeVar("T")


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is tuple:
        item = _describe(typing.get_args(tp)[0]).removeprefix("a ").removeprefix("an ")
        return f"a list of {item}s"
    if tp in (Duration, datetime.time):
        return "a string"  # written as text: "4 hours", "08:00"
    if dataclasses.is_dataclass(tp):
        return "a table"
    if origin in (Mapping, dict):
        return "a table of strings"
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_describe(a) for a in typing.get_args(tp) if a is not type(None))
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(tp, str(tp))


def _convert(tp: Any, value: Any, key: str, problems: list[Problem]) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(args[0], value, key, problems)
    if tp in (Duration, datetime.time):
        if not isinstance(value, str):
            problems.append(Problem(key, f"must be {_describe(tp)}, not {value!r}"))
            return None
        return read_duration(key, value, problems) if tp is Duration else read_clock(key, value, problems)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            problems.append(Problem(key, f"must be {_describe(tp)}", f"write [{key}]"))
            return None
        return _build(tp, value, key, problems)
    if origin is tuple:
        (item_tp, *_rest) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(Problem(key, f"must be {_describe(tp)}", 'e.g. ["a", "b"]'))
            return None
        items = [_convert(item_tp, v, f"{key}[{i}]", problems) for i, v in enumerate(value)]
        return tuple(item for item in items if item is not None)
    if origin in (Mapping, dict):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            problems.append(Problem(key, "must be a table of strings", 'e.g. "x" = "y"'))
            return None
        return types.MappingProxyType({str(k).lower(): v for k, v in value.items()})
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (str, int, float, bool) and (
        not isinstance(value, tp) or (tp is int and isinstance(value, bool))
    ):
        problems.append(Problem(key, f"must be {_describe(tp)}, not {value!r}"))
        return None
    return value


def _build(cls: type[T], table: dict[str, Any], prefix: str, problems: list[Problem]) -> T | None:
    """A ``cls`` of ``table``, or None when a key it needs is missing (each one a problem)."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "path"}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in fields:
            close = [f for f in fields if f.startswith(name[:3])]
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(fields)}"
            problems.append(Problem(key, "unknown key", hint))
            continue
        converted = _convert(hints[name], value, key, problems)
        if converted is not None:
            kwargs[name] = converted
    missing = [
        n
        for n, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and n not in kwargs
    ]
    for name in missing:
        key = f"{prefix}.{name}" if prefix else name
        if name not in table:
            problems.append(Problem(key, "is required", "add it to this table"))
    if missing:
        return None
    return cls(**kwargs)


#: The keys holding a file or folder path, as (section, key). In a config read from a file, a
#: relative one (a default one too) is relative to the folder of that file, not to the working
#: directory; an absolute one, or one starting with ``~``, is used as is.
PATH_KEYS = (("state", "db"), ("outbound", "folder"), ("sending", "templates"), ("daemon", "metrics_file"))


def relative_to(cfg: Config, base: Path) -> Config:
    """``cfg`` with each relative path of ``PATH_KEYS`` joined to ``base`` ("" stays "")."""
    for section, key in PATH_KEYS:
        table = getattr(cfg, section)
        value: str = getattr(table, key)
        if not value:
            continue
        path = Path(os.path.expanduser(value))
        if not path.is_absolute():
            path = base / path
        if str(path) != value:
            cfg = dataclasses.replace(cfg, **{section: dataclasses.replace(table, **{key: str(path)})})
    return cfg


def parse(data: Mapping[str, Any], source: str = "config", base: Path | None = None) -> Config:
    """Build a ``Config`` from a parsed TOML table, or raise ``ConfigError`` with every problem.

    With ``base`` (the folder of the file read), relative paths are made relative to it.
    """
    problems: list[Problem] = []
    cfg = _build(Config, dict(data), "", problems)
    if cfg is not None:
        if base is not None:
            cfg = relative_to(cfg, base)
        validate(cfg, problems)
    if problems or cfg is None:  # None: a key was missing, a problem already
        raise ConfigError(problems, source)
    return cfg


def load(path: str | None = None) -> Config:
    """Read the config named by ``path``, ``$CASEWATCH_CONFIG`` or ``./config.toml``.

    Relative paths in it are relative to its folder (``PATH_KEYS``). With none given and no
    ``./config.toml``, the built-in defaults are used, their paths relative to the working
    directory.
    """
    explicit = path or os.environ.get(ENV_VAR)
    chosen = Path(explicit or DEFAULT_PATH)
    try:
        found = chosen.exists()
    except OSError as exc:  # e.g. a folder on the way that this user may not enter
        raise UsageError(f"cannot read config file {chosen}: {exc.strerror or exc}") from None
    if not found:
        if explicit:
            raise UsageError(f"config file not found: {chosen} (hint: check --config / ${ENV_VAR})")
        return Config()
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem("(file)", f"not valid TOML: {exc}")], str(chosen)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {chosen}: {exc}") from None
    cfg = parse(data, str(chosen), base=chosen.parent)
    return dataclasses.replace(cfg, path=str(chosen))
