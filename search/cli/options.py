"""What the commands share: options whose defaults are settings, and where progress goes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click

from search import settings

SETTING = {s.name: s for s in settings.SETTINGS}


def setting_option(name: str, *decls: str, **kwargs):
    """A command option whose default (and environment variable) is the setting ``name``."""
    setting = SETTING[name]
    return click.option(
        *decls,
        envvar=setting.env,
        default=setting.default,
        show_default=True,
        help=f"{setting.help} [env: {setting.env}]",
        **kwargs,
    )


index_dir_option = setting_option(
    "INDEX_DIR", "--index-dir", type=click.Path(file_okay=False, path_type=Path)
)


def progress_stream() -> TextIO | None:
    """Where progress goes: standard error, unless `search -q` asked for errors only."""
    return None if click.get_current_context().find_root().params.get("quiet") else sys.stderr


def is_verbose() -> bool:
    """Whether `search -v` was given."""
    return click.get_current_context().find_root().params.get("verbose", 0) > 0
