"""Guichet dossier-status API: where a dossier stands, told only to its owner."""
