"""An import job of the admin's Import page: the uploaded file's name (the file itself is kept out of
the database, in a private folder, and deleted once the job no longer needs it), its state and the
report of its last run."""

from django.conf import settings
from django.db import models


class ImportJob(models.Model):
    class Status(models.TextChoices):
        CHECKING = "checking", "Checking (dry run)"
        CHECKED = "checked", "Checked"
        IMPORTING = "importing", "Importing"
        IMPORTED = "imported", "Imported"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=64, blank=True, help_text="The file's name in the private folder.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CHECKING)
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.file_name} ({self.status})"

    @property
    def errors(self) -> list[dict]:
        return self.report.get("errors", [])

    @property
    def may_import(self) -> bool:
        return self.status == self.Status.CHECKED and not self.errors and bool(self.stored_name)
