"""Where a candidate's files live, in staging and once copied into prod: defined once.

The decide step writes a candidate in this layout; the deploy step, the Vertex monitoring
job and the local runner read it by these names, never by spelling a file name again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kernel.errors import UserError
from kernel.names import MODEL_NAME

MODEL = "model"  # the model folder (model.json, the booster, model.onnx beside it)
BASELINE = "baseline.json"  # the training statistics: the skew baseline
TRAIN_CSV = "train.csv"  # the training table, as Vertex monitoring reads a skew baseline
METRICS = "metrics.json"
SMOKE = "smoke.json"  # instances a new version must answer before it gets traffic
DECISION = "decision.json"  # what the candidate was compared with (the champion's version)
ON_DEVICE = "on_device.json"  # the on-device model's parity with LightGBM
APPROVAL_FOLDER = "approval"  # a folder of its own: staging a folder replaces it whole
APPROVAL = f"{APPROVAL_FOLDER}/approval.json"
PARITY = "parity.json"  # in each challenger's on-device folder, before a candidate exists
# A Vertex AutoML model folder: model.json (ours), and AutoML's export under this folder; a
# version is registered over the export, which AutoML's container serves.
AUTOML_EXPORT = "export"

# What the deploy copies from the candidate into prod's data bucket, beside the version:
# the baselines monitoring reads, and the smoke instances a resumed deploy needs.
COPIED_DATA = (BASELINE, TRAIN_CSV, SMOKE)


def model_folder(artifact_uri: str) -> str:
    """The model folder (with our model.json) of a registered version: the artifacts
    themselves, or for an AutoML version the folder its export is in."""
    marker = f"/{MODEL}/{AUTOML_EXPORT}/"
    head, found, _ = artifact_uri.partition(marker)
    return f"{head}/{MODEL}" if found else artifact_uri


@dataclass(frozen=True)
class Candidate:
    """A staged candidate: `<staging models bucket>/<model>/candidates/<run id>`."""

    uri: str

    def file(self, name: str) -> str:
        return f"{self.uri.rstrip('/')}/{name}"

    @staticmethod
    def of_run(candidates_root: str, run_id: str) -> Candidate:
        return Candidate(f"{candidates_root}/{run_id}")


@dataclass(frozen=True)
class ProdLayout:
    """Where prod keeps a run's copy: models in the models bucket, data in the data bucket."""

    models_root: str  # <buckets root>/<prod models bucket>/<model>
    data_root: str  # <buckets root>/<prod data bucket>/<model>

    @staticmethod
    def of(buckets_root: str, models_bucket: str, data_bucket: str) -> ProdLayout:
        return ProdLayout(
            f"{buckets_root}/{models_bucket}/{MODEL_NAME}",
            f"{buckets_root}/{data_bucket}/{MODEL_NAME}",
        )

    def model(self, run_id: str) -> str:
        return f"{self.models_root}/{run_id}/{MODEL}"

    def data(self, run_id: str, name: str) -> str:
        return f"{self.data_root}/{run_id}/{name}"

    @property
    def change_lease(self) -> str:
        """Prod's change lease on Vertex (adapters/vertex/lease.py): beside the runs'
        folders, under a name no run id can take (one starts with a letter or digit)."""
        return f"{self.models_root}/_lease/prod-change.json"


def training_data_beside(baseline_uri: str) -> str:
    """The training table copied beside a baseline (Vertex monitoring's skew source)."""
    folder, _, name = baseline_uri.rpartition("/")
    if name != BASELINE:
        raise ValueError(f"{baseline_uri}: not a baseline ({BASELINE}) in a run's data folder")
    return f"{folder}/{TRAIN_CSV}"


def candidates_root(buckets_root: str, staging_models_bucket: str) -> str:
    return f"{buckets_root}/{staging_models_bucket}/{MODEL_NAME}/candidates"


_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def candidate_under(uri: str, root: str) -> Candidate:
    """`uri` as a candidate staged under `root` (candidates_root); anything else is refused
    by name: prod's deploy trigger takes the URI from a message, and deploys nothing else."""
    prefix = f"{root.rstrip('/')}/"
    run_id = uri.rstrip("/").removeprefix(prefix)
    if not uri.startswith(prefix) or not _RUN_ID.fullmatch(run_id):
        raise UserError(f"--candidate {uri!r}: not a staged candidate; expected {prefix}<run id>")
    return Candidate(f"{prefix}{run_id}")
