"""The one decision on rights: what each persona may do with the records of a site.

alice and bob: clinicians of site A; charlie: clinician of site B; ivy: investigator; root: admin.
"""

import dataclasses

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from registry.permissions import SiteRights, can_write_site, may_see_phi, site_rights
from registry.selectors import sites_visible_to

pytestmark = pytest.mark.django_db

EVERYTHING = SiteRights(read=True, write=True, phi=True)
READ_ONLY = SiteRights(read=True, write=False, phi=False)
NOTHING = SiteRights(read=False, write=False, phi=False)

MATRIX = {
    # persona: (rights at site A, rights at site B)
    "alice": (EVERYTHING, NOTHING),
    "bob": (EVERYTHING, NOTHING),
    "charlie": (NOTHING, EVERYTHING),
    "ivy": (READ_ONLY, READ_ONLY),
    "root": (EVERYTHING, EVERYTHING),
}


@pytest.mark.parametrize("name", MATRIX)
def test_each_persona_has_the_rights_of_the_matrix(personas, site_a, site_b, name):
    user = personas[name]

    assert (site_rights(user, site_a), site_rights(user, site_b)) == MATRIX[name]


@pytest.mark.parametrize("name", MATRIX)
def test_a_site_id_answers_as_the_site_does(personas, site_a, site_b, name):
    user = personas[name]

    assert (site_rights(user, site_a.pk), site_rights(user, site_b.pk)) == MATRIX[name]


@pytest.mark.parametrize("name", MATRIX)
def test_the_old_names_and_the_visible_sites_follow_the_one_decision(personas, site_a, site_b, name):
    user = personas[name]

    for site in (site_a, site_b):
        rights = site_rights(user, site)
        assert can_write_site(user, site.pk) is rights.write
        assert (site in sites_visible_to(user)) is rights.read
    assert may_see_phi(user) is any(site_rights(user, site).phi for site in (site_a, site_b))


def test_a_user_without_a_role_an_inactive_one_and_anonymous_have_nothing(personas, site_a):
    no_role = get_user_model().objects.create_user("nobody", password="correct horse battery staple")
    inactive = personas["alice"]
    inactive.is_active = False
    inactive.save()

    for user in (no_role, inactive, AnonymousUser(), None):
        assert site_rights(user, site_a) == NOTHING
        assert not may_see_phi(user)
        assert list(sites_visible_to(user)) == []


def test_rights_are_a_frozen_value(personas, site_a):
    rights = site_rights(personas["ivy"], site_a)

    with pytest.raises(dataclasses.FrozenInstanceError):
        rights.write = True
