"""Command-line programs. Each parses arguments, calls the API, renders, and exits."""
