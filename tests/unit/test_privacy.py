"""The served policy is the project's copy, versioned by its exact text."""
import hashlib

from chalicelib import privacy


def test_the_policy_text_has_a_registered_version():
    digest = hashlib.sha256(privacy.POLICY_FILE.read_bytes()).hexdigest()
    assert digest in privacy.VERSIONS, "policy text changed: add a new version to VERSIONS"
    assert privacy.current_policy().sha256 == digest


def test_the_policy_promises_are_in_the_text():
    text = privacy.current_policy().text
    for promise in ("Contact me with special offers and services", "Marketing Partners",
                    "cookie", "aggregate form"):
        assert promise in text


def test_sections_keep_every_paragraph():
    policy = privacy.current_policy()
    sections = policy.sections()
    assert sections[0] == ("title", "Privacy Policy")
    assert ("heading", "Information Requests") in sections
    words = " ".join(text for _, text in sections).split()
    assert words == policy.text.split()
