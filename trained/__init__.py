"""Shipped tone models (skops files with their model cards) and the voice encoder's weights (npz)."""
