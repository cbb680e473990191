"""The package's version, on the ground floor so that any module may name it (pyproject.toml says the same)."""

__version__ = "0.1.0"
