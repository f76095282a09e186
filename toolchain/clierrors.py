"""How every click command ends when something goes wrong: one line on stderr and an exit
status that says whose fault it was (the policy is toolchain/failure.py: 2 for a user mistake,
3 for an internal error with its log in a file, 128+N on a signal), never a traceback. Its own
module so that commands living beside their subsystem (train/commands.py ...) use it without
importing the CLI that loads them."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import click


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from toolchain.failure import report

        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except BaseException as e:  # noqa: BLE001 -- the one place that turns any failure into a line
            sys.exit(report(e, lambda s: click.echo(s, err=True)))

    return wrapper
