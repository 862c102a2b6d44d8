"""Web pages of the interoperability app."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from interop.codebook import codebook, layout
from registry.permissions import staff_view


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
