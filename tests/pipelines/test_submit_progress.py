"""What `mlops submit --wait` says while it waits and when a run fails (pure)."""

from pipelines.submit import console_url, failure_of, task_changes

JOB = "projects/census-ml-staging/locations/europe-west4/pipelineJobs/census-promotion-1"
CONSOLE = (
    "https://console.cloud.google.com/vertex-ai/locations/europe-west4/pipelines/runs/"
    "census-promotion-1?project=census-ml-staging"
)


def test_the_console_link_names_the_run_its_region_and_project():
    assert console_url(JOB) == CONSOLE


def test_each_task_is_said_once_per_state_it_reaches():
    seen: dict[str, str] = {}
    first = [{"taskName": "census-promotion-1", "state": "RUNNING"},
             {"taskName": "ingest", "state": "RUNNING"}]  # fmt: skip
    assert task_changes(seen, first) == [
        "  census-promotion-1: running", "  ingest: running"]  # fmt: skip
    later = [{"taskName": "ingest", "state": "SUCCEEDED"}, {"taskName": "validate",
             "state": "RUNNING"}, {"taskName": "root", "state": "RUNNING"}]  # fmt: skip
    assert task_changes(seen, later) == ["  ingest: succeeded", "  validate: running"]
    assert task_changes(seen, later) == []  # nothing new: nothing said


def test_a_failed_run_names_the_failing_task_and_the_error_s_last_line():
    job = {
        "jobDetail": {"taskDetails": [{"taskName": "ingest", "state": "SUCCEEDED"},
                                      {"taskName": "train", "state": "FAILED"}]},
        "error": {"message": "task failed (1); its log ends:\nValueError: no rows\n"},
    }  # fmt: skip
    assert failure_of(JOB, "PIPELINE_STATE_FAILED", job) == (
        f"pipeline run {JOB} ended PIPELINE_STATE_FAILED; failed task: train; "
        f"ValueError: no rows ({CONSOLE})"
    )
    assert failure_of(JOB, "PIPELINE_STATE_CANCELLED", {}) == (
        f"pipeline run {JOB} ended PIPELINE_STATE_CANCELLED ({CONSOLE})"
    )
