"""Shipped tone models (skops files with their model cards)."""
