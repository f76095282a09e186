"""How every click command ends on a user mistake: one `error: ...` line on stderr and a
non-zero exit, never a traceback. Its own module so that commands living beside their
subsystem (train/commands.py ...) use it without importing the CLI that loads them."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import click

from toolchain.errors import McuforgeError


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn McuforgeError (and a few OS errors) into one clear line and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except McuforgeError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        except (OSError, RecursionError, MemoryError) as e:
            click.echo(f"error: {type(e).__name__}: {e}", err=True)
            sys.exit(1)

    return wrapper
