"""Side-by-side benchmarks of the collab-widget server and baseline Socket.IO servers.

Run with ``python -m benchmarks.run`` (see ``benchmarks/README.md``).
"""
