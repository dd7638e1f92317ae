"""Demo network data: placeholder replaced below."""
