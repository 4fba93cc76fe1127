"""WSGI entry point: ``gunicorn 'wsgi:app'``; ``flask`` finds it through .flaskenv."""

from marketplace import create_app

app = create_app()
