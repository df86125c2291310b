"""Parsec Tray: a system-tray client for Parsec v3."""

__version__ = "0.1.0"
