"""Case studies: end-to-end runs on bundled real data that write figures and tables.

A study orchestrates data loading, the mathematics and the decision problems, and
writes its outputs; it never implements mathematics itself.
"""
