"""Scoring models on datasets: protocols, feature extraction, pictures and the evaluation
commands (`reid evaluate`, `reid extract-features`, `reid plot-training`).

Above the encoder in the layering; TensorFlow is needed only to read a training checkpoint.
"""
