"""Custom actions of the Guichet assistant (rasa_sdk). Nothing runs at import time."""
