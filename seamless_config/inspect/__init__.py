"""Inspection beside the pipeline: what ``seamless-config show``, ``explain``, ``diff``, ``check``
and ``doctor`` report, computed from the pipeline's values (pure).

The core (:mod:`seamless_config.core`) resolves; this package reads what it
resolved, with provenance, and turns it into reports: attrs records and their
stable JSON forms. It imports the core and nothing that acts (no effects, no
CLI); the text renderers live beside the CLIs, in :mod:`seamless_config.cli.render`.
"""
