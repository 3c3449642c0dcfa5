"""The household registry import job: one uploaded CSV/XLSX of a hamlet, row by row."""
from jobs import job, job_log
from server.services import registry_import


@job
def import_registry(task_id):
    """Import the file of one registry import task; safe to run twice."""
    job_log("registry import %s: starting", task_id)
    counts = registry_import.run(task_id)
    job_log("registry import %s: %s", task_id, counts or "nothing to do")
    return counts
