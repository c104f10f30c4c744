"""Single source of the package version (read by setup.py and the metric signature)."""
__version__ = "0.1.0"
