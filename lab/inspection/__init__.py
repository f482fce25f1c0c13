"""The data seen through the model: a map of every photo, the labels that look wrong, near-duplicates.

Owns what a backbone's features say about a dataset rather than about one run: each photo's pooled features
(read from the feature cache, so the backbone runs once per photo and backbone), their 2-D projection, the
out-of-fold predictions of small heads fitted on them and the label issues they rank, near-duplicate pairs, and
a clean manifest that leaves chosen photos out (the photos themselves are never touched).

Must not import Streamlit, nor `lab.runs`, `lab.replays`, `lab.workspace`, `lab.access`, `lab.leftovers` or
`lab.cli`: a run's backbone, weights and data come from its caller as plain values.
"""
