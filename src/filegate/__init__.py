"""filegate: a File API for user images (presigned uploads, batch verification, downloads)."""

__version__ = "0.1.0"
