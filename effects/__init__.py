"""The effects shell of seamless-config.

Everything that touches the world lives here: reading the configuration files
(:mod:`effects.snapshot`), the on-disk parse cache (:mod:`effects.parse_cache`),
and, later, launching services, health checks, SSH and tunnels. These modules
receive decisions already made by the pure stages in ``seamless_config.core``
and make none of their own.
"""
