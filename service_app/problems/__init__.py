"""problems domain."""
