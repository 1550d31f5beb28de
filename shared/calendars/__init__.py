"""Calendars shipped with the code: economic release times (``releases``)."""
