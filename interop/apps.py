from django.apps import AppConfig


class InteropConfig(AppConfig):
    """Data in and out in other systems' formats: HL7 FHIR R4, Stata and SPSS files, codebooks."""

    name = "interop"
    verbose_name = "Interoperability"
