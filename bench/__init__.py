"""filegate's benchmark suite: ``python -m bench [--quick] [NAME ...]`` (``make bench``).

Every benchmark measures a filegate operation and a baseline doing the irreducible part of
the same work, in the same run and interleaved, and reports the ratio of their medians.
Speed is measured here, never asserted: see ``bench/README.md``.
"""
