"""CareRoute: route healthcare phone calls on Asterisk by what the caller says.

The engine in this package is importable without Asterisk: audio framing, the
streaming recognizer, the classifier, the routing policy, configuration and the
command line. The ARI front end lives in ``ari_app`` and the dialplan-only
front end in ``agi``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
