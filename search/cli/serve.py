"""`search serve`: the page and the JSON API under gunicorn, with the production settings."""

from __future__ import annotations

import os
from pathlib import Path

import click

from search.cli.options import SETTING, index_dir_option
from search.folder_messages import data_folder

WSGI_APP = "web:create_app()"
GUNICORN_CONFIG = "python:web.gunicorn_conf"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Worker processes [default: one per core]."
)
@index_dir_option
def serve(host: str, port: int, workers: int | None, index_dir: Path) -> None:
    """Serve the search page and the JSON API with gunicorn (the production settings).

    INDEX_DIR must be a data folder already (made by `search ingest` or `search crawl`).
    """
    from gunicorn.app.base import Application
    from gunicorn.util import import_app

    data_folder(index_dir)

    os.environ[SETTING["INDEX_DIR"].env] = str(index_dir)

    class _Server(Application):
        def load_config(self):
            self.load_config_from_module_name_or_filename(GUNICORN_CONFIG)
            self.cfg.set("bind", f"{host}:{port}")
            if workers:
                self.cfg.set("workers", workers)

        def load(self):
            # The same application string as the production command; the engine never
            # imports the web package itself.
            return import_app(WSGI_APP)

    click.echo(f"serving {index_dir} at http://{host}:{port}", err=True)
    _Server().run()
