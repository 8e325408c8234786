"""Mail sources: adapters that only move bytes from somewhere into ``RawMessage`` values."""
