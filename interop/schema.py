"""A hook of the OpenAPI schema (drf-spectacular's PREPROCESSING_HOOKS) for the FHIR routes."""

import re


def fhir_operation_paths(endpoints):
    """Puts back the "$" of FHIR operations (``/Patient/{id}/$everything``), which drf-spectacular
    drops from a path, reading it as the end of a regular expression."""
    restored = []
    for path, path_regex, method, callback in endpoints:
        for operation in re.findall(r"\\?\$(\w+)", path_regex):
            path = path.replace(f"/{operation}", f"/${operation}")
        restored.append((path, path_regex, method, callback))
    return restored
