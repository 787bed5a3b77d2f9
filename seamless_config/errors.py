"""The exception the Python API raises for configuration mistakes."""


class ConfigurationError(RuntimeError):
    """A mistake in the configuration (or in how the API was called).

    The message is one line per mistake: ``file:line: what was wrong (how to fix it)``.
    """
