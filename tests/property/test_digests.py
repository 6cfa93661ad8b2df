"""Digest headers (coopol/federation/signatures.py): any value parses or fails with our own error."""

from hypothesis import given
from hypothesis import strategies as st

from coopol.federation.signatures import SignatureError, content_digest_header, digest_header, verify_digest

HEADERS = st.sampled_from(["Digest", "digest", "Content-Digest", "content-digest"])
# Text near the real syntax finds more than random unicode alone.
NEAR = st.text(alphabet=st.sampled_from(list("SHA-256sha512=:,;?*\"' ABCabc+/0123456789")), max_size=80)


@given(HEADERS, st.one_of(st.text(max_size=120), NEAR), st.binary(max_size=256))
def test_any_digest_value_is_accepted_or_refused_with_a_signature_error(header, value, body):
    try:
        verify_digest(header, value, body)
    except SignatureError:
        pass


@given(st.binary(max_size=2048))
def test_our_own_digests_verify(body):
    verify_digest("Digest", digest_header(body), body)
    verify_digest("Content-Digest", content_digest_header(body), body)


@given(st.binary(max_size=512), st.binary(min_size=1, max_size=16))
def test_a_changed_body_never_matches(body, extra):
    for header, value in (("Digest", digest_header(body)), ("Content-Digest", content_digest_header(body))):
        for other in (body + extra, extra + body):
            try:
                verify_digest(header, value, other)
            except SignatureError:
                continue
            raise AssertionError(f"{header} of {body!r} matched {other!r}")
