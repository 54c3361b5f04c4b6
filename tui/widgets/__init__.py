"""Widgets the wizard's pages are built from."""
