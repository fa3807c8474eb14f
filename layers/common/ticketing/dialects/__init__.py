"""Dialect adapters: each parses its vendor's request, calls the domain, renders the
result and its errors in the vendor's format.  One module per dialect."""
