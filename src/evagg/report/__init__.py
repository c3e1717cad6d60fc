"""Plots and files of results (layer 6)."""
