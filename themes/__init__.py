"""Colour themes for the console, shipped as YAML data files in this package (loaded by tui.themes)."""
