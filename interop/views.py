"""Web pages of the interoperability app."""

import functools

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from interop import jobs
from interop.codebook import codebook, layout
from interop.import_rows import ERRORS_CSV_COLUMNS
from interop.models import ImportJob
from interop.workbook import SHEETS
from registry.permissions import is_admin, staff_view


@staff_view
@require_GET
def codebook_page(request):
    """The codebook of the encounter exports (the same list as codebook.csv); it holds no data, so
    every role may read it."""
    identified = {variable.name for variable in layout(deidentified=False)}
    deidentified = {variable.name for variable in layout(deidentified=True)}
    variables = [
        {
            "variable": variable,
            "exports": ", ".join(
                name
                for name, names in (("identified", identified), ("de-identified", deidentified))
                if variable.name in names
            ),
        }
        for variable in codebook()
    ]
    return render(request, "interop/codebook.html", {"variables": variables})


# --- Import (registry admins) -------------------------------------------------------------


def admin_view(view):
    @staff_view
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_admin(request.user):
            raise PermissionDenied(jobs.ADMINS_ONLY)
        return view(request, *args, **kwargs)

    return wrapper


@admin_view
@require_http_methods(["GET", "POST"])
def import_page(request):
    """Upload a file: it is checked (a dry run) by a background job, whose page follows."""
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "Choose a file."
        else:
            try:
                job = jobs.job_create(user=request.user, upload=upload)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                return redirect("import_job", job_id=job.pk)
    recent = ImportJob.objects.all()[:10]
    return render(request, "interop/import.html", {"error": error, "jobs": recent}, status=400 if error else 200)


def _job_state(job: ImportJob) -> dict:
    return {
        "status": job.status,
        "rows": cache.get(jobs.progress_key(job.pk)) or 0,
        "done": job.status in (ImportJob.Status.CHECKED, ImportJob.Status.IMPORTED, ImportJob.Status.FAILED),
    }


@admin_view
@require_GET
def import_job_page(request, job_id: int):
    job = get_object_or_404(ImportJob, pk=job_id)
    stored = job.report.get("counts", {})  # jsonb keeps no key order: the workbook's order of sheets
    counts = {sheet: stored[sheet] for sheet in SHEETS if sheet in stored}
    return render(request, "interop/import_job.html", {"job": job, "state": _job_state(job), "counts": counts})


@admin_view
@require_GET
def import_job_status(request, job_id: int):
    return JsonResponse(_job_state(get_object_or_404(ImportJob, pk=job_id)))


@admin_view
@require_POST
def import_job_confirm(request, job_id: int):
    job = get_object_or_404(ImportJob, pk=job_id)
    try:
        jobs.job_confirm(user=request.user, job=job)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=409, content_type="text/plain")
    return redirect("import_job", job_id=job.pk)


@admin_view
@require_GET
def import_job_errors_csv(request, job_id: int):
    """The bad rows of the job's last run (line, sheet, field, message), formula-safe."""
    from core.csv_safe import SafeWriter

    job = get_object_or_404(ImportJob, pk=job_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    writer = SafeWriter(response)
    writer.writerow(ERRORS_CSV_COLUMNS)
    writer.writerows([error[column] for column in ERRORS_CSV_COLUMNS] for error in job.errors)
    return response
