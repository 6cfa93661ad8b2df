"""Shared ground: errors, events, unit of work, schemas, state machines, text rendering."""
