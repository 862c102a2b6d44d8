"""The registry's records as HL7 FHIR R4 resources, built as plain dicts (JSON-ready).

``patient_everything`` is the answer of ``GET /api/fhir/Patient/<id>/$everything``: a Bundle of type
``collection`` holding

- the **Patient**: the MRN as an identifier whose system names the site, and the study id under a
  system of its own; gender, birth date, and the death date (``deceasedDateTime``) or
  ``deceasedBoolean: false``;
- each **Procedure**: status ``completed``, the treatment coded in the registry's code system
  (``psfs`` or ``sacroplasty``), the fracture status as its reason, body site sacrum (SNOMED CT
  54735007), ``performedDateTime``. No CPT code: 0200T and 0201T tell a unilateral from a bilateral
  sacral augmentation, and the registry records neither the side nor the number of cement
  injections, so a CPT code would be a guess. The **screws** are carried by a complex extension
  (``<base>/fhir/StructureDefinition/screw``: corridor, trajectory, side, diameter in mm,
  fully threaded, and the length in mm where recorded) rather than ``focalDevice``, which needs a
  Device resource for each screw that the registry does not otherwise hold;
- each visit as an **Encounter** (status ``finished``, class ``AMB``, its date as ``period.start``,
  its kind as ``type``);
- each MSTS assessment (a visit with at least one domain scored) as an **Observation** (status
  ``final``, category ``survey``, code ``msts``): the total as ``valueInteger`` when all six
  domains are scored, otherwise no value and a ``dataAbsentReason``; one component per scored
  domain (0-5); ``encounter`` points at its visit;
- the opioid dose of a visit, where recorded, as an **Observation** coded ``opioid-mme-per-day``
  with a ``valueQuantity`` in ``mg/d`` (UCUM);
- each complication as an **AdverseEvent** (actuality ``actual``, the kind as its event, outcome
  ``resolved`` or ``ongoing``, the procedure as its suspect entity). AdverseEvent rather than
  Condition: a complication is an event caused by a treatment, with an outcome, not an entry of the
  problem list. Its free-text description is not sent.

Every resource has an ``id`` (its type and the registry's id) and a ``fullUrl`` (``urn:uuid:``, a
UUID derived from the site URL, the type and the id, so the same record keeps it); every reference
inside the Bundle is one of these fullUrls.

``code_system`` (``/api/fhir/CodeSystem/sacral-registry``) and ``questionnaire``
(``/api/fhir/Questionnaire/msts``) publish the vocabulary, with the labels of ``outcomes.msts``,
``registry.vocabulary`` and the choices of the models.
"""

import uuid
from decimal import Decimal

from django.conf import settings

from outcomes import msts
from outcomes.models import ComplicationKind, EncounterKind
from registry import vocabulary

FHIR_VERSION = "4.0.1"
CONTENT_TYPE = "application/fhir+json"
CODE_SYSTEM_ID = "sacral-registry"
QUESTIONNAIRE_ID = "msts"

MSTS_CODE = "msts"
MME_CODE = "opioid-mme-per-day"
SNOMED = "http://snomed.info/sct"
SACRUM = {"system": SNOMED, "code": "54735007", "display": "Sacrum"}
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
ADVERSE_EVENT_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"


def registry_base() -> str:
    """The registry's address (SITE_URL): the root of its code system, identifier systems and extensions."""
    return settings.SITE_URL.rstrip("/")


def code_system_url() -> str:
    return f"{registry_base()}/api/fhir/CodeSystem/{CODE_SYSTEM_ID}"


def questionnaire_url() -> str:
    return f"{registry_base()}/api/fhir/Questionnaire/{QUESTIONNAIRE_ID}"


def mrn_system(site_code: str) -> str:
    """The identifier system of a site's MRNs: an MRN is unique only within its site."""
    return f"{registry_base()}/fhir/sid/mrn/{site_code}"


def study_id_system() -> str:
    return f"{registry_base()}/fhir/sid/study-id"


def screw_extension_url() -> str:
    return f"{registry_base()}/fhir/StructureDefinition/screw"


# --- The vocabulary: one list, read by the code system and by the resources ----------------------

_TREATMENTS = {code: vocabulary.TREATMENT_LABELS[code] for code in vocabulary.TREATMENTS}
_FRACTURE_STATUSES = {code: vocabulary.FRACTURE_STATUS_LABELS[code] for code in vocabulary.STRATA}
_ENCOUNTER_KINDS = dict(EncounterKind.choices)
_COMPLICATIONS = dict(ComplicationKind.choices)
MSTS_DISPLAY = f"MSTS score, total (0-{msts.MSTS_MAX})"
MME_DISPLAY = "Opioid dose, oral morphine milligram equivalents per day"
_DOMAINS = {domain.field: f"MSTS {domain.label.lower()} (0-{msts.DOMAIN_MAX})" for domain in msts.DOMAINS}


def _groups() -> list[tuple[str, str, dict[str, str]]]:
    """(group code, group display, {code: display}) of the code system, in its order."""
    return [
        ("treatment", "Sacral treatment", _TREATMENTS),
        ("fracture-status", "Fracture status", _FRACTURE_STATUSES),
        ("encounter-kind", "Kind of visit", _ENCOUNTER_KINDS),
        ("msts-domain", "MSTS domain", _DOMAINS),
        ("complication", "Complication", _COMPLICATIONS),
    ]


def _coding(code: str, display: str) -> dict:
    return {"system": code_system_url(), "code": code, "display": display}


def _concept(code: str, display: str) -> dict:
    return {"coding": [_coding(code, display)], "text": display}


def code_system() -> dict:
    """The registry's CodeSystem: every code the resources of ``patient_everything`` use."""
    concepts = [
        {
            "code": group,
            "display": group_display,
            "property": [{"code": "notSelectable", "valueBoolean": True}],
            "concept": [{"code": code, "display": display} for code, display in codes.items()],
        }
        for group, group_display, codes in _groups()
    ]
    concepts += [{"code": MSTS_CODE, "display": MSTS_DISPLAY}, {"code": MME_CODE, "display": MME_DISPLAY}]
    return {
        "resourceType": "CodeSystem",
        "id": CODE_SYSTEM_ID,
        "url": code_system_url(),
        "name": "SacralRegistry",
        "title": "Sacral metastasis registry",
        "status": "active",
        "experimental": False,
        "description": "Treatments, fracture statuses, visits, MSTS score and domains, opioid dose and "
        "complications of the sacral metastasis registry.",
        "caseSensitive": True,
        "hierarchyMeaning": "grouped-by",
        "content": "complete",
        "property": [
            {
                "code": "notSelectable",
                "uri": "http://hl7.org/fhir/concept-properties#notSelectable",
                "type": "boolean",
            }
        ],
        "concept": concepts,
    }


def _answer_display(domain: msts.Domain, score: int) -> str:
    if score in domain.descriptors:
        return f"{score}: {domain.descriptors[score]}"
    above, below = domain.descriptors[score + 1], domain.descriptors[score - 1]
    return f"{score}: between {below} and {above}"


def questionnaire() -> dict:
    """The MSTS form: one choice item per domain, answers 0-5 with their descriptors."""
    items = [
        {
            "linkId": domain.field,
            "code": [_coding(domain.field, _DOMAINS[domain.field])],
            "text": domain.label,
            "type": "choice",
            "required": False,
            "answerOption": [
                {
                    "extension": [{"url": ORDINAL_VALUE, "valueDecimal": score}],
                    "valueCoding": {"code": str(score), "display": _answer_display(domain, score)},
                }
                for score in range(msts.DOMAIN_MAX, -1, -1)
            ],
        }
        for domain in msts.DOMAINS
    ]
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "url": questionnaire_url(),
        "name": "MSTS",
        "title": "Musculoskeletal Tumor Society score (MSTS, Enneking 1993)",
        "status": "active",
        "subjectType": ["Patient"],
        "description": f"Six domains, each scored 0-{msts.DOMAIN_MAX}; the total (0-{msts.MSTS_MAX}) is "
        "defined only when all six are scored.",
        "code": [_coding(MSTS_CODE, MSTS_DISPLAY)],
        "item": items,
    }


# --- A patient's records -----------------------------------------------------------------------


def _full_url(resource_type: str, resource_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{registry_base()}/{resource_type}/{resource_id}')}"


class _Bundle:
    def __init__(self):
        self.entries: list[dict] = []

    def add(self, resource: dict) -> dict:
        """Adds ``resource``; returns a reference to it."""
        full_url = _full_url(resource["resourceType"], resource["id"])
        self.entries.append({"fullUrl": full_url, "resource": resource})
        return {"reference": full_url}


def _number(value: Decimal):
    return int(value) if value == value.to_integral_value() else float(value)


def _patient(patient) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": f"patient-{patient.pk}",
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                            "display": "Medical record number",
                        }
                    ]
                },
                "system": mrn_system(patient.site.code),
                "value": patient.mrn,
                "assigner": {"display": patient.site.name},
            },
            {"use": "secondary", "system": study_id_system(), "value": patient.study_id},
        ],
        "gender": patient.sex,
        "birthDate": patient.birth_date.isoformat(),
    }
    if patient.death_date:
        resource["deceasedDateTime"] = patient.death_date.isoformat()
    else:
        resource["deceasedBoolean"] = False
    return resource


def _screw_extension(screw) -> dict:
    return {
        "url": screw_extension_url(),
        "extension": [
            {"url": "corridor", "valueCode": screw.corridor},
            {"url": "trajectory", "valueCode": screw.trajectory},
            {"url": "side", "valueCode": screw.side},
            {
                "url": "diameter",
                "valueQuantity": {"value": _number(screw.diameter_mm), "unit": "mm", "system": UCUM, "code": "mm"},
            },
            {"url": "fullyThreaded", "valueBoolean": screw.fully_threaded},
            *(
                []
                if screw.length_mm is None
                else [
                    {
                        "url": "length",
                        "valueQuantity": {
                            "value": _number(screw.length_mm),
                            "unit": "mm",
                            "system": UCUM,
                            "code": "mm",
                        },
                    }
                ]
            ),
        ],
    }


def _procedure(procedure, screws, subject) -> dict:
    resource = {
        "resourceType": "Procedure",
        "id": f"procedure-{procedure.pk}",
        "status": "completed",
        "code": _concept(procedure.treatment, _TREATMENTS[procedure.treatment]),
        "subject": subject,
        "performedDateTime": procedure.date.isoformat(),
        "reasonCode": [_concept(procedure.fracture_status, _FRACTURE_STATUSES[procedure.fracture_status])],
        "bodySite": [{"coding": [SACRUM], "text": "Sacrum"}],
    }
    if screws:
        resource["extension"] = [_screw_extension(screw) for screw in screws]
    return resource


def _encounter(encounter, subject) -> dict:
    return {
        "resourceType": "Encounter",
        "id": f"encounter-{encounter.pk}",
        "status": "finished",
        "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "type": [_concept(encounter.kind, _ENCOUNTER_KINDS[encounter.kind])],
        "subject": subject,
        "period": {"start": encounter.date.isoformat()},
    }


def _msts_observation(encounter, subject, visit) -> dict | None:
    components = [
        {"code": _concept(domain.field, _DOMAINS[domain.field]), "valueInteger": getattr(encounter, domain.field)}
        for domain in msts.DOMAINS
        if getattr(encounter, domain.field) is not None
    ]
    if not components:
        return None
    resource = {
        "resourceType": "Observation",
        "id": f"msts-{encounter.pk}",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": _concept(MSTS_CODE, MSTS_DISPLAY),
        "subject": subject,
        "encounter": visit,
        "effectiveDateTime": encounter.date.isoformat(),
    }
    if encounter.msts_total is not None:
        resource["valueInteger"] = encounter.msts_total
    else:
        resource["dataAbsentReason"] = {
            "coding": [{"system": DATA_ABSENT_REASON, "code": "unknown", "display": "Unknown"}],
            "text": "Not every domain was scored.",
        }
    resource["component"] = components
    return resource


def _mme_observation(encounter, subject, visit) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"mme-{encounter.pk}",
        "status": "final",
        "code": _concept(MME_CODE, MME_DISPLAY),
        "subject": subject,
        "encounter": visit,
        "effectiveDateTime": encounter.date.isoformat(),
        "valueQuantity": {
            "value": _number(encounter.opioid_mme_per_day),
            "unit": "mg/d",
            "system": UCUM,
            "code": "mg/d",
        },
    }


def _adverse_event(complication, subject, procedure) -> dict:
    outcome = "resolved" if complication.resolved else "ongoing"
    return {
        "resourceType": "AdverseEvent",
        "id": f"complication-{complication.pk}",
        "actuality": "actual",
        "event": _concept(complication.kind, _COMPLICATIONS[complication.kind]),
        "subject": subject,
        "date": complication.date.isoformat(),
        "outcome": {"coding": [{"system": ADVERSE_EVENT_OUTCOME, "code": outcome, "display": outcome.title()}]},
        "suspectEntity": [{"instance": procedure}],
    }


def patient_everything(patient, timeline) -> dict:
    """The Bundle of ``patient`` (its ``site`` loaded) and its ``timeline``
    (``outcomes.selectors.patient_timeline``): see the module's docstring."""
    bundle = _Bundle()
    subject = bundle.add(_patient(patient))
    for item in timeline:
        procedure = bundle.add(_procedure(item.procedure, item.screws, subject))
        for encounter in item.encounters:
            visit = bundle.add(_encounter(encounter, subject))
            observation = _msts_observation(encounter, subject, visit)
            if observation is not None:
                bundle.add(observation)
            if encounter.opioid_mme_per_day is not None:
                bundle.add(_mme_observation(encounter, subject, visit))
        for complication in item.complications:
            bundle.add(_adverse_event(complication, subject, procedure))
    return {
        "resourceType": "Bundle",
        "id": f"patient-{patient.pk}-everything",
        "type": "collection",
        "entry": bundle.entries,
    }
