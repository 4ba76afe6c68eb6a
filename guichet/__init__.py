"""Guichet's shared, framework-free core: the reference catalogue, identifiers and the names
of the domain's responses. Standard library and PyYAML only, so that both Python
environments (the API's and Rasa's) import the same code."""
