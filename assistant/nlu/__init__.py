"""Guichet's own NLU component: the intent classifier named in config.yml."""
