"""leaderboards: the results store, text and HTML views, and paired comparisons.

Reads result documents and its store, never models (SPEC §2).
"""
