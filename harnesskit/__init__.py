"""harnesskit: the small shared base every package of the harness builds on.

It imports nothing of ours: errors (:mod:`harnesskit.errors`), atomic files and
JSONL (:mod:`harnesskit.fsutil`), progress bars (:mod:`harnesskit.progress`),
the data home (:mod:`harnesskit.paths`), typed config helpers
(:mod:`harnesskit.config`), the hub probe (:mod:`harnesskit.hub`) and the one
registry mechanism (:mod:`harnesskit.registry`).
"""
