"""Headline sources (RSS/Atom feeds, a timestamped CSV) and the local VADER scorer."""
