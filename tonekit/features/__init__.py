"""Acoustic features: pitch, formants, energy and spectral shape, speaking rate; frames and windows."""
