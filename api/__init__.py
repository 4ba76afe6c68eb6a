"""Guichet dossier-status API: what the assistant asks to tell a person where their dossier stands."""
