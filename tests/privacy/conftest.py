"""Rasa's SQL tracker store is written for SQLAlchemy 1.4, which then prints a banner about
2.0 through the warnings module: silenced as the Makefile does, before SQLAlchemy loads."""

import os

os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
