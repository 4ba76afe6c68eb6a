"""Fakes of the voice stages (voice/stages.py), for tests of the other stages."""
