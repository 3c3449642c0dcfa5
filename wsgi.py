"""WSGI entry point for gunicorn and ``flask --app wsgi``."""
from server import create_app

app = create_app()
