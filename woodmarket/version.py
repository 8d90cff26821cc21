"""The version of woodmarket, in a room of its own: run folders record it, and nothing else here."""

__version__ = "0.1.0"
