"""Hyperparameter sweeps: a parent run whose children are sampled, run and stopped early by Optuna."""
