"""lexiq: teach language agents from logged interaction."""

__version__ = "0.1.0"
