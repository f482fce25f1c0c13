"""Evaluation: what a trained model says about each image, and what that means.

Owns the per-image predictions table (`predictions.csv`, kept in every run folder), computing it with the
training pipeline, the interpretation built from it (classification report, confusion matrix, ROC and
precision-recall curves, top losses, most-confused pairs), the paired comparison of two runs on one
evaluation set (McNemar's exact test), and named evaluations stored inside a run.

Pages and the CLI read stored predictions; nothing here runs a model on a page visit. Must not import
Streamlit; TensorFlow, scikit-learn and SciPy are imported inside the functions that need them.
"""
