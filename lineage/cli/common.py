"""What every command shares: settings, the store, error reporting, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from pydantic import ValidationError

from lineage.errors import ConfigError, LineageError
from lineage.settings import Settings
from lineage.store.mlmd import MlmdStore

if TYPE_CHECKING:
    from lineage.api.config import ApiSettings

P = ParamSpec("P")
R = TypeVar("R")


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"bad LINEAGE_ setting {where}: {first['msg']}") from exc


@contextmanager
def open_store(settings: Settings | None = None) -> Iterator[MlmdStore]:
    from lineage.wiring import open_store as opening

    with opening(settings or load_settings()) as store:
        yield store


def api_settings() -> ApiSettings:
    from lineage.api.config import ApiSettings

    try:
        return ApiSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"bad LINEAGE_API__ setting {where}: {first['msg']}") from exc


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def os_error_message(exc: OSError) -> str:
    """``cannot use PATH: Read-only file system``, or the error itself when it names no file."""
    if exc.filename is None or not exc.strerror:
        return str(exc) or type(exc).__name__
    return f"cannot use {exc.filename}: {exc.strerror}"


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a LineageError into one line on stderr and its exit code, never a traceback.

    An OSError is the machine refusing a file (a read-only LINEAGE_HOME, a full disk, a
    missing permission): one line naming the file, with the exit code of a ConfigError.
    """

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except LineageError as exc:
            raise fail(str(exc), exc.exit_code) from exc
        except OSError as exc:
            raise fail(os_error_message(exc), ConfigError.exit_code) from exc

    return wrapper
