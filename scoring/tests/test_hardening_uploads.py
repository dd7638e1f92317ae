"""Photo evidence: only real images of at most 5 MB are stored; anything else is refused and nothing is lost."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from scoring import services
from scoring.models import PHOTO_MAX_BYTES, Score
from scoring.views import EvidenceForm

from .factories import Q3, dealer_with_sales


def _png(size=(4, 4)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "PNG")
    return buffer.getvalue()


def _form(content, name="photo.png", content_type="image/png"):
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    return EvidenceForm({"comment": "样品齐全"}, {"photo": upload}, instance=Score())


@pytest.fixture
def score(db, office, office_manager):
    dealer_with_sales(office=office, code="E1")
    services.open_quarter(quarter=Q3)
    return Score.objects.get(sheet__dealer__code="E1", indicator__code="store_display")


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_are_never_accepted_as_a_photo(content):
    assert not _form(content).is_valid()


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("photo.html", _png(), "text/html"),  # an image under a name browsers would render
        (
            "photo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
        (
            "photo.pdf",
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
            "application/pdf",
        ),
        ("photo.png", b"GIF89a" + b"\x00" * 20, "image/png"),  # a truncated image
    ],
    ids=["png-named-html", "svg", "pdf", "truncated"],
)
def test_files_that_are_not_plain_images_are_refused(name, content, content_type):
    assert not _form(content, name, content_type).is_valid()


def test_a_real_image_one_byte_over_5_mb_is_refused_and_one_under_is_kept():
    image = _png()
    # Pillow reads an image with trailing bytes, so only the size check can refuse it.
    assert not _form(image + b"\0" * (PHOTO_MAX_BYTES + 1 - len(image))).is_valid()
    assert _form(image + b"\0" * (PHOTO_MAX_BYTES - len(image))).is_valid()


@pytest.mark.django_db
def test_a_refused_photo_keeps_the_typed_comment_on_the_page_and_saves_nothing(client, score, office_manager):
    # given the office manager on the dealer's sheet
    client.force_login(office_manager)
    prefix = f"e{score.pk}"
    fake = SimpleUploadedFile("x.jpg", b"<html>not an image</html>", content_type="image/jpeg")
    # when he sends a comment with a file that is not an image
    response = client.post(
        reverse("scoring:sheet", args=[score.sheet_id]),
        {"score": score.pk, f"{prefix}-comment": "陈列整齐", f"{prefix}-photo": fake},
    )
    # then the page is shown again with the error and his comment; nothing is stored
    assert response.status_code == 400
    assert "陈列整齐" in response.content.decode()
    score.refresh_from_db()
    assert (score.comment, bool(score.photo)) == ("", False)


@pytest.mark.django_db
def test_a_photo_is_stored_under_a_random_name_with_the_extension_of_its_content(
    client, score, office_manager
):
    # given: a PNG named like a page, with the uploader's own name in it
    client.force_login(office_manager)
    prefix = f"e{score.pk}"
    upload = SimpleUploadedFile("张三的照片.jpg", _png(), content_type="image/jpeg")
    # when
    client.post(
        reverse("scoring:sheet", args=[score.sheet_id]),
        {"score": score.pk, f"{prefix}-comment": "", f"{prefix}-photo": upload},
    )
    # then
    score.refresh_from_db()
    name = score.photo.name.rsplit("/", 1)[-1]
    assert name.endswith(".png")
    assert len(name) == 32 + len(".png")
    assert "张三" not in score.photo.name


@pytest.mark.django_db
def test_a_photo_is_served_by_the_view_to_its_office_and_not_to_another(
    client, settings, score, office_manager, make_staff, other_office
):
    # given: DEBUG is off (as in every test) and the photo stored
    assert not settings.DEBUG
    services.save_evidence(
        score=score, comment="", photo=SimpleUploadedFile("p.png", _png()), user=office_manager
    )
    url = reverse("scoring:score_photo", args=[score.pk])
    stranger = make_staff("om_bj", "office_manager", office=other_office)
    # when / then: the office sees it, another office gets 404, /media/ serves nothing
    client.force_login(office_manager)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == _png()
    assert client.get(f"/media/{score.photo.name}").status_code == 404
    client.force_login(stranger)
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_with_a_proxy_the_photo_is_handed_over_by_x_accel_redirect(client, settings, score, office_manager):
    settings.MEDIA_X_ACCEL_PREFIX = "/protected-media/"
    services.save_evidence(
        score=score, comment="", photo=SimpleUploadedFile("p.png", _png()), user=office_manager
    )
    client.force_login(office_manager)
    response = client.get(reverse("scoring:score_photo", args=[score.pk]))
    assert response["X-Accel-Redirect"] == f"/protected-media/{score.photo.name}"
    assert response.content == b""


def test_an_image_of_more_than_50_megapixels_is_refused():
    buffer = io.BytesIO()
    Image.new("1", (10_000, 5_001)).save(buffer, "PNG")
    assert not _form(buffer.getvalue()).is_valid()
