"""filegate's benchmark suite: ``python -m bench [--quick] [NAME ...]`` (``make bench``).

Every benchmark measures a filegate operation and a baseline doing the irreducible part of
the same work, in the same run and interleaved, and reports the median of their paired ratios.
Speed is measured here, never asserted: see ``bench/README.md``.
"""
