"""shiftlab: how robust is this image classifier, really, and can I trust the number?"""

__version__ = "0.1.0"
