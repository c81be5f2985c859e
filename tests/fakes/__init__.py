"""Fake Asterisk servers for unit tests, bound to 127.0.0.1 on a free port."""
