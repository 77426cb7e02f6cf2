"""Figures logged with each run: PR curves, confusion matrices, feature importance.

Margins are fixed rather than computed by ``tight_layout``, which measured every tick label and
cost more than drawing the figures (about 0.5 s of a monthly run).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display on servers and workers

import matplotlib.pyplot as plt
import numpy as np
import xgboost as xgb
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve


def pr_curves(y_true: np.ndarray, curves: dict[str, tuple[np.ndarray, float]]) -> Figure:
    """One precision-recall curve per model, each with its operating point at its threshold."""
    figure, axes = plt.subplots(figsize=(6, 4.5))
    for label, (probability, threshold) in curves.items():
        precision, recall, _ = precision_recall_curve(y_true, probability)
        line = axes.plot(recall, precision, label=label)[0]
        predicted = probability >= threshold
        tp = float(np.sum(predicted & (y_true == 1)))
        point_p = tp / max(float(np.sum(predicted)), 1.0)
        point_r = tp / max(float(np.sum(y_true == 1)), 1.0)
        axes.scatter([point_r], [point_p], color=line.get_color(), zorder=3)
    axes.axhline(float(np.mean(y_true)), linestyle=":", color="grey", label="fraud rate")
    axes.set(xlabel="recall", ylabel="precision", title="Precision-recall on the holdout")
    axes.legend()
    figure.subplots_adjust(left=0.11, right=0.97, bottom=0.11, top=0.93)
    plt.close(figure)
    return figure


def confusion(metrics: dict[str, float], title: str) -> Figure:
    table = np.array([[metrics["tn"], metrics["fp"]], [metrics["fn"], metrics["tp"]]])
    figure, axes = plt.subplots(figsize=(3.6, 3.2))
    axes.imshow(table, cmap="Blues")
    for (row, column), value in np.ndenumerate(table):
        axes.text(column, row, f"{int(value)}", ha="center", va="center")
    axes.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["legit", "fraud"],
        yticklabels=["legit", "fraud"],
        xlabel="predicted",
        ylabel="actual",
        title=title,
    )
    figure.subplots_adjust(left=0.2, right=0.95, bottom=0.15, top=0.9)
    plt.close(figure)
    return figure


def feature_importance(booster: xgb.Booster, top: int = 20) -> Figure:
    gains = booster.get_score(importance_type="gain")
    ranked = sorted(gains.items(), key=lambda item: item[1])[-top:]
    height = 0.25 * len(ranked) + 1
    figure, axes = plt.subplots(figsize=(8, height))
    axes.barh([name for name, _ in ranked], [value for _, value in ranked])
    axes.set(xlabel="gain", title="Feature importance")
    # Room on the left for the longest contract names (about 40 characters).
    figure.subplots_adjust(left=0.45, right=0.97, bottom=0.6 / height, top=1 - 0.4 / height)
    plt.close(figure)
    return figure
