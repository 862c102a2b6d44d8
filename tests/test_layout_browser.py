"""Phones and tablets: in a real headless Chromium, at 390 px and 768 px, no page of the registry
scrolls sideways, for a clinician, a registry admin and an investigator; and no page asks for a
file the server does not have (the favicon was one).

The pages are read from the URLconf, so a new page fails ``test_every_page_is_visited`` until it is
listed here, with the record its URL needs, or skipped with a reason.
"""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from outcomes import services as outcome_services
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

WIDTHS = (390, 768)

# Pages that are not pages of their own: what the browser never shows as a page, or shows only as a
# part of another one (visited with it).
NOT_PAGES = {
    "healthz": "JSON for load balancers",
    "favicon": "an image (checked: no page asks for a missing file)",
    "logout": "a POST",
    "mfa_verify": "the second step of an admin's login, shown before the session is verified",
    "analysis:dashboard_panel": "a fragment of the dashboard, loaded into it",
    "analysis:dashboard_status": "a fragment of the dashboard, loaded into it",
    "analysis:dashboard_json": "a JSON download",
    "analysis:dashboard_table_csv": "a CSV download",
    "query_csv": "a CSV download",
    "worklist_csv": "a CSV download",
    "query_bulk_close": "a POST from the queries page",
    "procedure_unlock": "a POST from the timeline",
    "import_job_status": "JSON the import page polls",
    "import_job_confirm": "a POST from the import page",
    "import_job_errors": "a CSV download",
}


def page_names() -> set[str]:
    """The names of every page the URLconf serves, outside the admin and the API (checked apart)."""

    def walk(patterns, prefix="", namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace)
            elif pattern.name:
                yield prefix + str(pattern.pattern), f"{namespace}:{pattern.name}" if namespace else pattern.name

    return {name for route, name in walk(get_resolver().url_patterns) if not route.startswith(("admin/", "api/"))}


def page_urls(world) -> dict[str, list[str]]:
    """Each page by name, with the URLs that show it (one a kind of record where it has several)."""
    procedure, encounter = world.procedure, world.encounter
    urls = {
        "home": [reverse("home")],
        "login": [reverse("login")],
        "mfa_setup": [reverse("mfa_setup")],
        "password_change": [reverse("password_change")],
        "password_change_done": [reverse("password_change_done")],
        "patient_list": [reverse("patient_list"), reverse("patient_list") + "?q=SAC&sort=-birth_date"],
        "patient_create": [reverse("patient_create")],
        "patient_edit": [reverse("patient_edit", args=[world.patient.pk])],
        "patient_detail": [reverse("patient_detail", args=[world.patient.pk])],
        "procedure_create": [reverse("procedure_create", args=[world.patient.pk])],
        "procedure_edit": [reverse("procedure_edit", args=[procedure.pk])],
        "encounter_create": [reverse("encounter_create", args=[procedure.pk])],
        "encounter_edit": [reverse("encounter_edit", args=[encounter.pk])],
        "event_create": [
            reverse("event_create", args=[procedure.pk, "complication"]),
            reverse("event_create", args=[procedure.pk, "secondary-procedure"]),
        ],
        "event_edit": [
            reverse("event_edit", args=["complication", world.complication.pk]),
            reverse("event_edit", args=["secondary-procedure", world.secondary.pk]),
        ],
        "record_history": [
            reverse("record_history", args=["patient", world.patient.pk]),
            reverse("record_history", args=["procedure", procedure.pk]),
        ],
        "worklist": [reverse("worklist")],
        "codebook": [reverse("codebook")],
        "analysis:dashboard": [reverse("analysis:dashboard")],
        "analysis:dashboard_report": [reverse("analysis:dashboard_report")],
    }
    # Pages of the second release, each where its URL is served.
    optional = {
        "procedure_sign_off": lambda: [reverse("procedure_sign_off", args=[procedure.pk])],
        "visit_not_done_create": lambda: [reverse("visit_not_done_create", args=[procedure.pk])],
        "visit_not_done_edit": lambda: [reverse("visit_not_done_edit", args=[world.visit_not_done.pk])],
        "record_retract": lambda: [reverse("record_retract", args=["encounter", encounter.pk])],
        "retracted_patients": lambda: [reverse("retracted_patients")],
        "query_list": lambda: [reverse("query_list")],
        "query_detail": lambda: [reverse("query_detail", args=[world.query.pk])],
        "query_create": lambda: [reverse("query_create", args=[world.patient.pk])],
        "import": lambda: [reverse("import")],
        "import_job": lambda: [reverse("import_job", args=[world.import_job.pk])],
    }
    names = page_names()
    urls.update({name: build() for name, build in optional.items() if name in names})
    return urls


API_AND_ADMIN = ["/api/docs/", "/admin/", "/admin/registry/patient/", "/admin/registry/procedure/", "/admin/auth/user/"]


def test_every_page_is_visited_or_skipped_with_a_reason():
    world = SimpleNamespace(
        patient=SimpleNamespace(pk=1),
        procedure=SimpleNamespace(pk=1),
        encounter=SimpleNamespace(pk=1),
        complication=SimpleNamespace(pk=1),
        secondary=SimpleNamespace(pk=1),
        visit_not_done=SimpleNamespace(pk=1),
        query=SimpleNamespace(pk=1),
        import_job=SimpleNamespace(pk=1),
    )

    listed = set(page_urls(world)) | set(NOT_PAGES)

    assert page_names() - listed == set(), "a new page: list it in page_urls (or NOT_PAGES with a reason)"


# --- In the browser ---------------------------------------------------------------------------


@pytest.fixture
def world(personas, site_a):
    patient = PatientFactory(site=site_a, mrn="LAYOUT-0000-000001")
    procedure = ProcedureFactory(
        patient=patient,
        date=datetime.date(2024, 1, 10),
        indications=["destructive_lesion", "pain_despite_radiation", "mechanical_pain"],
        screws=[
            {"corridor": "S1", "trajectory": "transsacral", "side": "left", "diameter_mm": Decimal("7.3")},
            {"corridor": "S2", "trajectory": "iliosacral", "side": "right", "diameter_mm": Decimal("8.0")},
        ],
    )
    EncounterFactory(procedure=procedure, kind="baseline", date=datetime.date(2024, 1, 8))
    encounter = EncounterFactory(procedure=procedure, kind="followup", date=datetime.date(2024, 1, 24))
    complication = outcome_services.complication_create(
        user=None, procedure=procedure, date=datetime.date(2024, 2, 1), kind="other", description="Wound ooze"
    )
    secondary = outcome_services.secondary_procedure_create(
        user=None, procedure=procedure, date=datetime.date(2024, 3, 1), kind="radiation", reason="Residual pain"
    )
    ProcedureFactory(patient=PatientFactory(site=site_a), date=datetime.date.today() - datetime.timedelta(days=10))
    return SimpleNamespace(
        personas=personas,
        patient=patient,
        procedure=procedure,
        encounter=encounter,
        complication=complication,
        secondary=secondary,
        visit_not_done=_visit_not_done(procedure),
        query=_query(patient, procedure),
        import_job=_import_job(personas["root"]),
    )


def _visit_not_done(procedure):
    from outcomes.models import VisitNotDone

    return VisitNotDone.objects.create(procedure=procedure, visit="month3", reason="declined")


def _import_job(admin):
    from interop.models import ImportJob
    from interop.workbook import SHEETS

    counts = {sheet: {"created": 12, "updated": 3, "unchanged": 40} for sheet in SHEETS}
    error = {
        "line": 17,
        "sheet": "encounters",
        "field": "opioid_mme_per_day",
        "message": "Opioid dose cannot be more than 5,000 MME/day.",
    }
    return ImportJob.objects.create(
        created_by=admin,
        file_name="registry-export-of-a-long-name-2026-11-27.xlsx",
        status="checked",
        report={"dry_run": True, "counts": counts, "errors": [error]},
    )


def _query(patient, procedure):
    from quality.models import DataQuery

    return DataQuery.objects.create(
        rule="manual",
        kind="procedure",
        record=procedure.pk,
        patient=patient,
        site=patient.site,
        field="cement_volume_ml",
        message="Cement volume: please check the operative note for the volume injected.",
    )


OVERFLOW_SCRIPT = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const element of document.querySelectorAll("body *")) {
    const box = element.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
      // Inside a box that scrolls (a wide table), it scrolls with the box; unless it is positioned
      // absolutely and the box is not positioned, which does not clip it (a visually hidden label).
      const absolute = getComputedStyle(element).position === "absolute";
      let inside = element.parentElement, scrolls = false;
      while (inside && inside !== document.body) {
        const style = getComputedStyle(inside);
        const clips = ["auto", "scroll", "hidden"].includes(style.overflowX);
        if (clips && (!absolute || style.position !== "static")) scrolls = true;
        inside = inside.parentElement;
      }
      const classes = typeof element.className === "string" && element.className
        ? "." + element.className.split(" ").join(".") : "";
      if (!scrolls) wide.push(element.tagName.toLowerCase() + (element.id ? "#" + element.id : "") + classes
        + " right=" + Math.round(box.right));
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
}"""


def _signed_in_context(chromium, live_server, user, width):
    client = Client()
    client.force_login(user)
    context = chromium.new_context(viewport={"width": width, "height": 844})
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    return context


def _overflows(chromium, live_server, user, urls: list[str], width: int) -> tuple[list, list]:
    context = _signed_in_context(chromium, live_server, user, width)
    page = context.new_page()
    page.set_default_timeout(15_000)
    missing = []
    page.on(
        "response", lambda r: missing.append(f"{r.status} {r.url}") if r.status == 404 and "/static/" in r.url else None
    )
    page.on(
        "requestfinished",
        lambda r: (
            missing.append(f"favicon {r.url}") if r.url.endswith("favicon.ico") and r.response().status >= 400 else None
        ),
    )
    found = []
    try:
        for url in urls:
            response = page.goto(f"{live_server.url}{url}")
            if "text/html" not in (response.headers.get("content-type") or ""):
                continue
            page.wait_for_load_state("load")
            measure = page.evaluate(OVERFLOW_SCRIPT)
            if measure["scroll"] > measure["width"]:
                found.append((url, response.status, measure["scroll"], measure["wide"]))
    finally:
        context.close()
    return found, missing


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("persona", ["alice", "root", "ivy"])
def test_no_page_scrolls_sideways_on_a_phone_or_a_tablet(chromium, live_server, world, persona):
    urls = [url for urls in page_urls(world).values() for url in urls]
    if persona == "root":
        urls += API_AND_ADMIN
    else:
        urls += API_AND_ADMIN[:1]
    user = world.personas[persona]

    results = {width: _overflows(chromium, live_server, user, urls, width) for width in WIDTHS}

    too_wide = [
        f"{width} px: {url} ({status}) is {scroll} px wide: {wide}"
        for width, (found, _) in results.items()
        for url, status, scroll, wide in found
    ]
    missing = [f"{width} px: {request}" for width, (_, requests) in results.items() for request in requests]
    assert too_wide == [], "\n".join(too_wide)
    assert missing == [], "\n".join(missing)


# --- The encounter form with the keyboard ------------------------------------------------------------


def _checked(page, field) -> str:
    return page.evaluate(f"() => document.querySelector('input[name={field}]:checked').value")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_msts_arrow_keys_stop_at_either_end_and_a_partial_score_is_confirmed(chromium, live_server, world):
    from outcomes.models import Encounter

    context = _signed_in_context(chromium, live_server, world.personas["alice"], 1280)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(
            f"{live_server.url}{reverse('encounter_create', args=[world.procedure.pk])}?kind=followup&date=2024-02-20"
        )
        assert _checked(page, "msts_pain") == ""  # starts unscored, not at 0
        page.focus("input[name=msts_pain]:checked")
        page.keyboard.press("ArrowRight")  # a browser's group would wrap round to 0
        assert _checked(page, "msts_pain") == ""
        page.keyboard.press("ArrowLeft")
        assert _checked(page, "msts_pain") == "5"
        page.keyboard.press("ArrowRight")  # not on into "not scored"
        assert _checked(page, "msts_pain") == "5"
        page.keyboard.press("ArrowDown")
        assert _checked(page, "msts_pain") == "5"
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowUp")
        assert _checked(page, "msts_pain") == "3"
        page.keyboard.press("Home")
        page.keyboard.press("ArrowLeft")  # not round to "not scored"
        assert _checked(page, "msts_pain") == "0"
        assert page.inner_text("[data-msts-total]") == "Total: not defined (1 of 6 domains scored)"
        ring = page.evaluate(
            """() => { const box = document.querySelector("input[name=msts_pain]:checked").closest("label");
                       const style = getComputedStyle(box);
                       return [style.outlineStyle, style.outlineWidth, style.borderTopLeftRadius]; }"""
        )
        assert ring == ["solid", "3px", "6px"]  # the focused score's box shows a round ring
        page.keyboard.press("Delete")
        assert _checked(page, "msts_pain") == ""

        page.keyboard.press("End")
        page.check("#id_msts_function_3")
        page.check("#id_narcotic_change_1")
        page.click("button:has-text('Save encounter')")
        alert = page.locator("#confirm-warnings")
        assert "MSTS: 2 of 6 domains scored" in alert.inner_text()
        assert Encounter.objects.filter(date=datetime.date(2024, 2, 20)).count() == 0
        page.check("#id_confirm_warnings")
        page.click("button:has-text('Save encounter')")
        page.wait_for_url(f"**/patients/{world.patient.pk}/#procedure-{world.procedure.pk}")
        assert page.inner_text(".messages") == "Follow-up saved."
        saved = Encounter.objects.get(date=datetime.date(2024, 2, 20))
        assert (saved.msts_pain, saved.msts_function, saved.msts_total) == (5, 3, None)
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_required_fields_show_their_star_and_focus_rings_are_round(chromium, live_server, world):
    context = _signed_in_context(chromium, live_server, world.personas["alice"], 390)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}{reverse('patient_create')}")
        star = page.locator("#field-mrn .required-mark")
        assert star.is_visible() and star.inner_text() == "*"
        assert page.get_attribute("#id_mrn", "aria-required") == "true"
        assert page.locator("#field-death_date .required-mark").count() == 0
        page.focus("#id_mrn")
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # a keyboard focus, so :focus-visible holds
        style = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [document.activeElement.id, s.outlineStyle, s.outlineWidth, s.borderTopLeftRadius]; }"
        )
        assert style[:3] == ["id_mrn", "solid", "3px"] and style[3] != "0px"
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_login_page_fits_a_phone(chromium, live_server):
    for width in WIDTHS:
        context = chromium.new_context(viewport={"width": width, "height": 844})
        page = context.new_page()
        try:
            page.goto(f"{live_server.url}{reverse('login')}")
            measure = page.evaluate(OVERFLOW_SCRIPT)
            assert measure["scroll"] <= measure["width"], (width, measure)
        finally:
            context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_at_1366_px_the_patient_list_keeps_dates_and_mrns_on_one_line(chromium, live_server, world):
    context = _signed_in_context(chromium, live_server, world.personas["alice"], 1366)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}{reverse('patient_list')}")
        lines = page.evaluate(
            """() => Array.from(document.querySelectorAll("table.patient-list td.nowrap")).map(cell => {
                 const range = document.createRange(); range.selectNodeContents(cell);
                 return [cell.textContent.trim(), new Set(Array.from(range.getClientRects()).map(r => r.top)).size];
               })"""
        )
        measure = page.evaluate(OVERFLOW_SCRIPT)
    finally:
        context.close()

    assert ["LAYOUT-0000-000001", 1] in lines
    assert all(count == 1 for _, count in lines), lines
    assert measure["scroll"] <= measure["width"]
