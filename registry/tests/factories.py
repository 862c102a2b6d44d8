"""Factories build data through the services, so test data obeys the same rules as real data."""

import datetime
from decimal import Decimal

import factory

from outcomes import services as outcome_services
from outcomes.models import Encounter
from registry import services
from registry.choices import Role
from registry.models import Patient, Procedure, Site

TODAY = datetime.date(2024, 6, 1)


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Hospital {o.code}")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.site_create(**kwargs)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    site = factory.SubFactory(SiteFactory)
    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    birth_date = datetime.date(1960, 5, 17)
    sex = "female"
    primary_cancer = "breast"
    primary_cancer_detail = ""
    death_date = None

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.patient_create(user=None, **kwargs)


class ProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Procedure

    patient = factory.SubFactory(PatientFactory)
    date = datetime.date(2023, 3, 1)
    treatment = "psfs"
    fracture_status = "pathological"
    service = "orthopaedics"
    ablation = "none"
    prior_local_radiation = False
    screws = factory.LazyAttribute(
        lambda o: (
            [
                {
                    "corridor": "S1",
                    "trajectory": "transsacral",
                    "side": "left",
                    "diameter_mm": Decimal("7.3"),
                    "fully_threaded": True,
                }
            ]
            if o.treatment == "psfs"
            else []
        )
    )

    @classmethod
    def _create(cls, model_class, **kwargs):
        # Test data is entered as confirmed: the "are you sure?" questions are tested on their own.
        return services.procedure_create(user=None, **{"confirm": True, **kwargs})


class EncounterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Encounter

    procedure = factory.SubFactory(ProcedureFactory)
    kind = "followup"
    date = factory.LazyAttribute(
        lambda o: o.procedure.date + datetime.timedelta(days=30 if o.kind == "followup" else -2)
    )
    msts_pain = 3
    msts_function = 3
    msts_emotional_acceptance = 3
    msts_supports = 3
    msts_walking = 3
    msts_gait = 3

    @classmethod
    def _create(cls, model_class, **kwargs):
        # Test data is entered as confirmed: the "are you sure?" questions are tested on their own.
        return outcome_services.encounter_record(user=None, **{"confirm": True, **kwargs})


def make_user(username: str, role: str, sites=()):
    return services.staff_user_create(
        username=username, password="correct horse battery staple", role=role, sites=list(sites)
    )


def persona_users(site_a, site_b) -> dict:
    return {
        "alice": make_user("alice", Role.CLINICIAN, [site_a]),
        "bob": make_user("bob", Role.CLINICIAN, [site_a]),
        "charlie": make_user("charlie", Role.CLINICIAN, [site_b]),
        "ivy": make_user("ivy", Role.INVESTIGATOR),
        "root": make_user("root", Role.ADMIN),
    }
