"""Parsec v3 protocol, keys and device files, free of any GUI import."""
