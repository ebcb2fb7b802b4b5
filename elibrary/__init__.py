"""elibrary: an open-source e-library for Japanese public and school libraries.

``create_app`` builds the web app around the runtime of the wiring room (``elibrary.wiring``), which
connects settings, database, backends, hooks and jobs. Nothing runs at import.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # Flask is imported by create_app: worker processes (search rebuild helpers) never load it
    from flask import Flask

__version__ = "0.1.0"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask application from the layered settings (see ``elibrary.config``)."""
    from flask import Flask

    from elibrary import logs, wiring
    from elibrary.web import register_web

    instance_path = _instance_path(test_config)
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    settings = wiring.instance_settings(instance_path, test_config, os.environ)
    app.config.update(settings)
    logs.configure_logging(settings)  # JSON lines with the request id (ELIBRARY_LOG_*)
    app.config["SECRET_KEY"] = settings["ELIBRARY_SECRET_KEY"]
    app.config["MAX_CONTENT_LENGTH"] = int(settings["ELIBRARY_MAX_UPLOAD_MB"]) * 1024 * 1024
    # Flask defines both keys (SAMESITE as None), so setdefault would keep Flask's values: set them.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = (test_config or {}).get("SESSION_COOKIE_SAMESITE", "Lax")
    if settings["ELIBRARY_ENV"] == "production":
        app.config["SESSION_COOKIE_SECURE"] = True

    runtime = app.extensions["elibrary"] = wiring.build_runtime(app.config)
    register_web(app)
    wiring.register_views(app)
    wiring.register_commands(app.cli)
    app.before_request(runtime.scheduler.ensure_started)  # one scheduler thread per worker process, after gunicorn's fork
    # each worker follows the shared search change log from its first request on (changes made on other servers)
    app.before_request(runtime.indexer.start_following)
    if runtime.text_indexer is not None:
        app.before_request(runtime.text_indexer.start_following)
    return app


def _instance_path(test_config: Mapping[str, Any] | None) -> str:
    """``ELIBRARY_INSTANCE_PATH`` (test config, then environment), else ``instance/`` beside ``wsgi.py``."""
    explicit = (test_config or {}).get("ELIBRARY_INSTANCE_PATH") or os.environ.get("ELIBRARY_INSTANCE_PATH")
    if explicit:
        path = Path(explicit)
    else:
        path = Path(__file__).resolve().parent.parent / "instance"
        if not (path.parent / "wsgi.py").exists():  # installed with pip: use the working directory
            path = Path.cwd() / "instance"
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    return str(path)
