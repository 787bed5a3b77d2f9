"""Size limits of configuration files (no imports: the warm lane reads files with them too)."""

#: Larger files are refused before parsing; readers read at most one byte more.
MAX_FILE_BYTES = 256 * 1024
