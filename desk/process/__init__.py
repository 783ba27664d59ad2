"""Helper processes the desk starts, watches and starts again."""
