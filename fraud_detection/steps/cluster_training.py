"""The month's pool and the recipe on a Dask cluster (``FRAUD_DASK_ADDRESS``): the same partitions,
ages and lineage as steps/pool.py, but the older partitions are named, not read, here.

The flow lists which files are in force (no bytes) and the workers hash them, so the lineage and
the reuse key are exactly those of a single-machine run; training then reads them again on the
workers, which check each file's bytes against its hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fraud_detection.adapters.dask_training import DaskTraining
from fraud_detection.adapters.dask_workers import ClusterPart, ClusterPool
from fraud_detection.adapters.lake import LakeError
from fraud_detection.core.dataset import MonthSplit
from fraud_detection.core.lineage import PartitionRef, lineage_hash
from fraud_detection.core.training import JudgedRecipe, TrainedModel, TrainingPart
from fraud_detection.steps.challengers import FitOrder, whole_month
from fraud_detection.steps.intake import MonthData
from fraud_detection.steps.pool import HistoryFloor, PoolPlan, TrainingInputs
from fraud_detection.steps.ports import LakeReader, RegistryReader


@dataclass(frozen=True)
class ClusterInputs(TrainingInputs):
    """A pool whose older partitions stay in the lake: ``parts`` holds the month's own training
    part only, ``history`` the base and the earlier decided months as the workers read them."""

    history: list[ClusterPart] = field(default_factory=list)

    @property
    def partition_names(self) -> list[str]:
        return [*(p.name for p in self.history), *(p.name for p in self.parts)]


class ClusterFitter:
    """The Fitter of steps/challengers.py on a Dask cluster, through one client."""

    def __init__(self, training: DaskTraining, floor: HistoryFloor | None = None) -> None:
        self._training = training
        self._floor = floor or HistoryFloor()

    def gather(
        self, lake: LakeReader, registry: RegistryReader, data: MonthData, month_split: MonthSplit
    ) -> ClusterInputs:
        """The partitions of the pool's plan, named for the workers, + the month's own part."""
        plan = PoolPlan.of(lake, registry, data.ref.name, self._floor)
        names = plan.kept
        ages = [plan.ages[name] for name in names]
        paths = [_in_force(lake, name) for name in names]
        hashes = self._training.partition_hashes(paths)
        history = [
            ClusterPart(n, p, h, a) for n, p, h, a in zip(names, paths, hashes, ages, strict=True)
        ]
        lineage = [*(PartitionRef(p.name, p.path, p.sha256) for p in history), data.ref]
        return ClusterInputs(
            plan.month,
            [TrainingPart(plan.month, month_split.train, 0.0)],
            month_split.holdout,
            lineage,
            lineage_hash(lineage),
            left_out=plan.left_out,
            history=history,
        )

    def fit(self, inputs: TrainingInputs, order: FitOrder) -> TrainedModel:
        cluster = _cluster_inputs(inputs)
        given = ClusterPool(cluster.history, cluster.month, cluster.parts[-1].frame)
        return self._training.train(given, order.params, order.plan, seed=order.seed)

    def refit(self, inputs: TrainingInputs, order: FitOrder, judged: JudgedRecipe) -> TrainedModel:
        cluster = _cluster_inputs(inputs)
        given = ClusterPool(cluster.history, cluster.month, whole_month(cluster))
        return self._training.refit(given, order.params, order.plan, seed=order.seed, judged=judged)


def _in_force(lake: LakeReader, name: str) -> str:
    path = lake.latest(name)
    if path is None:
        raise LakeError(f"no data for {name!r} in the lake")
    return path


def _cluster_inputs(inputs: TrainingInputs) -> ClusterInputs:
    if not isinstance(inputs, ClusterInputs):
        raise TypeError("the cluster fits a pool gathered by ClusterFitter.gather")
    return inputs
