"""gunicorn entry point: ``gunicorn wsgi:app``."""
from elibrary import create_app

app = create_app()
