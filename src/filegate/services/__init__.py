"""Use cases: register, issue URLs, record uploads, verify, download, delete, expire."""
