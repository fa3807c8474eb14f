"""Dialect adapters: each parses its vendor's request, calls the domain, renders the result and
its errors in the vendor's format.  One package (or, when it fits, one module) per dialect;
``common``, ``docs`` and ``reference_data`` are shared by them and hold no dialect's own code.
The layout: ``docs/DEVELOPING.md``."""
