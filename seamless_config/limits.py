"""Size limits of configuration files, outside the pure stages: the warm lane reads files with them
without loading those (no imports here)."""

#: Larger files are refused before parsing; readers read at most one byte more.
MAX_FILE_BYTES = 256 * 1024
