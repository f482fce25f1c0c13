"""Evaluation: what a trained model says about each image, and what that means.

Owns the per-image predictions table (`predictions.csv`, kept in every run folder), computing it with the
training pipeline, the interpretation built from it (classification report, confusion matrix, ROC and
precision-recall curves, top losses, most-confused pairs), the paired comparison of two runs on one
evaluation set (McNemar's exact test),
intervals and sample sizes for differences of accuracies, every accuracy in words with its interval, named
evaluations stored inside a run, calibration (a run's temperature, the expected calibration error, reliability
bins), test-time augmentation, and a run's out-of-distribution check (`novelty`: how far a photo's pooled
backbone features lie from the training photos').

Pages and the CLI read stored predictions; nothing here runs a model on a page visit. TensorFlow,
scikit-learn and SciPy are imported inside the functions that need them.

Must not import Streamlit, nor `lab.training`, `lab.runs`, `lab.replays`, `lab.workspace`, `lab.access`,
`lab.leftovers` or `lab.cli`: training and the runs call evaluation, so what evaluation needs from them
(the backbone's preprocessing for a model card, whether to copy an evaluation to MLflow) comes from its
caller, as data or as the caller's own next step.
"""
