"""The exception the Python API raises for configuration mistakes."""


class ConfigurationError(RuntimeError):
    """A mistake in the configuration (or in how the API was called).

    The message is one line per mistake: ``file:line: what was wrong (how to fix it)``.
    """


class ConfigValueError(ConfigurationError, ValueError):
    """A mistake where seamless-config 0.3.2 raised ``ValueError`` (the ``select_*`` checks, the
    commands and clusters of the files read by a load): callers that catch ``ValueError`` there,
    as ``seamless-run`` does, keep working."""
