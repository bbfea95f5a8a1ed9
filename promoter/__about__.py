"""The version of promoter, kept apart so that `promoter --version` imports nothing else."""

__version__ = "0.1.0"
