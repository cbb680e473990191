"""Scoring script of the demo's softmax model (the ``python`` flavor: ``init()`` then ``run(data)``)."""

import os

import numpy as np

W = B = MEAN = STD = CLASSES = None


def init():
    global W, B, MEAN, STD, CLASSES
    saved = np.load(os.path.join(os.path.dirname(__file__), "model.npz"))
    W, B, MEAN, STD, CLASSES = saved["w"], saved["b"], saved["mean"], saved["std"], saved["classes"]


def run(data):
    x = (np.asarray(data, dtype=float) - MEAN) / STD
    return [str(CLASSES[i]) for i in (x @ W + B).argmax(1)]
