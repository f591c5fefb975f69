"""The served policy is the project's copy, versioned by its exact text."""
import hashlib

from chalicelib.platform import policy


def test_the_policy_text_has_a_registered_version():
    digest = hashlib.sha256(policy.POLICY_FILE.read_bytes()).hexdigest()
    assert digest in policy.VERSIONS, "policy text changed: add a new version to VERSIONS"
    assert policy.current_policy().sha256 == digest


def test_the_policy_promises_are_in_the_text():
    text = policy.current_policy().text
    for promise in ("Contact me with special offers and services", "Marketing Partners",
                    "cookie", "aggregate form"):
        assert promise in text


def test_sections_keep_every_paragraph():
    current = policy.current_policy()
    sections = current.sections()
    assert sections[0] == ("title", "Privacy Policy")
    assert ("heading", "Information Requests") in sections
    words = " ".join(text for _, text in sections).split()
    assert words == current.text.split()
