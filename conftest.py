import pytest

from registry.tests.factories import SiteFactory, persona_users


@pytest.fixture
def site_a(db):
    return SiteFactory(code="SITEA", name="Site A hospital")


@pytest.fixture
def site_b(db):
    return SiteFactory(code="SITEB", name="Site B hospital")


@pytest.fixture
def personas(site_a, site_b):
    """alice and bob: clinicians of site A; charlie: clinician of site B; ivy: investigator; root: admin."""
    return persona_users(site_a, site_b)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing costs ~0.3 s a user; the tests create many. Production keeps PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
