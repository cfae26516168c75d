"""Delivery receipts on the wire, from each provider's documented payloads: authentication, every status,
out of order, duplicates, unknown ids, malformed bodies."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from rest_framework.test import APIClient

from sms.receipts import Receipt, twilio_signature
from users.models import SmsRecord
from users.tests.factories import SmsRecordFactory

pytestmark = pytest.mark.django_db

BASE = "https://api.waterbill.test"
TWILIO = "/api/v1/sms/status/twilio/"
AT = "/api/v1/sms/status/africastalking/"
ORANGE = "/api/v1/sms/status/orange/"
TOKEN = "twilio-auth-token"
SID = "SM0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _receipts(settings: Any) -> None:
    settings.PUBLIC_BASE_URL = BASE
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.AFRICASTALKING_CALLBACK_SECRET = "at-secret"
    settings.ORANGE_CALLBACK_SECRET = "orange-secret"


def twilio_form(status: str, **extra: str) -> dict[str, str]:
    """A Twilio status callback's parameters (Messaging, outbound message)."""
    return {
        "MessageSid": SID,
        "SmsSid": SID,
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": "+15005550006",
        "To": "+237670123456",
        "ApiVersion": "2010-04-01",
        "MessageStatus": status,
        "SmsStatus": status,
        **extra,
    }


def twilio_record(**kwargs: Any) -> SmsRecord:
    return SmsRecordFactory(provider="twilio", provider_message_id=SID, **kwargs)


@pytest.mark.parametrize(
    ("words", "status", "code"),
    [
        (["queued", "sent"], "sent", ""),
        (["sent", "delivered"], "delivered", ""),
        (["sent", "undelivered"], "undelivered", "30003"),
        (["failed"], "failed", "30003"),
        (["read"], "delivered", ""),
        (["canceled"], "failed", "30003"),
        (["queued", "accepted", "sending"], "accepted", ""),  # nothing beyond what acceptance said
    ],
)
def test_twilio_statuses_are_mapped(words: list[str], status: str, code: str) -> None:
    record = twilio_record()
    for word in words:
        extra = {"ErrorCode": "30003"} if word in ("undelivered", "failed", "canceled") else {}
        assert signed_twilio(twilio_form(word, **extra)).status_code == 204
    record.refresh_from_db()
    assert (record.status, record.provider_code) == (status, code)


def urlencoded(form: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(form)


def signed_twilio(form: dict[str, str], signature: str | None = None, path: str = TWILIO) -> Any:
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature or twilio_signature(BASE + path, form, TOKEN)}
    return APIClient().post(path, urlencoded(form), content_type="application/x-www-form-urlencoded", **headers)


def test_a_late_sent_after_delivered_and_a_duplicate_change_nothing() -> None:
    record = twilio_record()
    assert [signed_twilio(twilio_form(w)).status_code for w in ("delivered", "sent", "delivered")] == [204] * 3
    record.refresh_from_db()
    assert record.status == "delivered"


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSBzaWduYXR1cmU=", None])
def test_a_twilio_callback_with_a_bad_or_missing_signature_is_refused(signature: str | None) -> None:
    record = twilio_record()
    headers = {} if signature is None else {"HTTP_X_TWILIO_SIGNATURE": signature}
    response = APIClient().post(
        TWILIO, urlencoded(twilio_form("delivered")), content_type="application/x-www-form-urlencoded", **headers
    )
    assert (response.status_code, response.json()["code"]) == (403, "receipt_refused")
    record.refresh_from_db()
    assert record.status == "accepted"


def test_a_twilio_signature_over_other_parameters_or_another_url_is_refused() -> None:
    twilio_record()
    signed_elsewhere = twilio_signature("http://10.0.0.5:8000" + TWILIO, twilio_form("delivered"), TOKEN)
    assert signed_twilio(twilio_form("delivered"), signature=signed_elsewhere).status_code == 403
    tampered = twilio_signature(BASE + TWILIO, twilio_form("undelivered"), TOKEN)
    assert signed_twilio(twilio_form("delivered"), signature=tampered).status_code == 403


def test_the_signature_algorithm_is_twilios() -> None:
    # The example of Twilio's webhook-security documentation: its URL, parameters, auth token and signature.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert twilio_signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_an_unknown_message_id_is_answered_2xx_and_changes_nothing() -> None:
    other = SmsRecordFactory(provider="twilio", provider_message_id="SMother")
    assert signed_twilio(twilio_form("delivered")).status_code == 204
    other.refresh_from_db()
    assert other.status == "accepted"


def test_a_twilio_callback_without_its_status_is_malformed() -> None:
    form = twilio_form("delivered")
    del form["MessageStatus"]
    response = signed_twilio(form)
    assert (response.status_code, response.json()["code"]) == (400, "receipt_malformed")


def test_the_same_message_id_at_another_provider_is_not_touched() -> None:
    record = SmsRecordFactory(provider="africastalking", provider_message_id=SID)
    assert signed_twilio(twilio_form("delivered")).status_code == 204
    record.refresh_from_db()
    assert record.status == "accepted"


# --- Africa's Talking ------------------------------------------------------------------------------------


def at_report(status: str, **extra: str) -> dict[str, str]:
    """An Africa's Talking delivery report (form fields of its documentation)."""
    return {
        "id": "ATXid_4a1c",
        "status": status,
        "phoneNumber": "+237670123456",
        "networkCode": "62402",
        "retryCount": "0",
        **extra,
    }


AT_SECRET = "at-secret"  # noqa: S105 -- the test's callback secret
ORANGE_SECRET = "orange-secret"  # noqa: S105 -- the test's callback secret


def post_at(form: dict[str, str], secret: str | None = AT_SECRET) -> Any:
    path = AT if secret is None else f"{AT}?secret={secret}"
    return APIClient().post(path, urlencoded(form), content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize(
    ("words", "status", "code"),
    [
        (["Submitted", "Buffered"], "sent", ""),
        (["Sent", "Success"], "delivered", ""),
        (["Buffered", "Failed"], "undelivered", "UserIsInactive"),
        (["Rejected"], "failed", "UserIsInactive"),
        (["Success", "Sent", "Failed"], "delivered", ""),  # out of order: final is final
        (["Whatever"], "accepted", ""),
    ],
)
def test_africastalking_statuses_are_mapped(words: list[str], status: str, code: str) -> None:
    record = SmsRecordFactory(provider="africastalking", provider_message_id="ATXid_4a1c")
    for word in words:
        extra = {"failureReason": "UserIsInactive"} if word in ("Failed", "Rejected") else {}
        assert post_at(at_report(word, **extra)).status_code == 204
    record.refresh_from_db()
    assert (record.status, record.provider_code) == (status, code)


@pytest.mark.parametrize("secret", [None, "", "wrong"])
def test_an_africastalking_report_without_our_secret_is_refused(secret: str | None) -> None:
    record = SmsRecordFactory(provider="africastalking", provider_message_id="ATXid_4a1c")
    assert post_at(at_report("Success"), secret=secret).status_code == 403
    record.refresh_from_db()
    assert record.status == "accepted"


def test_an_africastalking_report_without_its_id_is_malformed_and_an_unknown_id_is_taken() -> None:
    assert post_at({"status": "Success"}).status_code == 400
    assert post_at(at_report("Success")).status_code == 204  # no such record


# --- Orange ----------------------------------------------------------------------------------------------


def orange_notification(status: str, reference: str = "9f1c2b") -> dict[str, Any]:
    """Orange's deliveryInfoNotification (GSMA OneAPI), as its SMS API posts it."""
    return {
        "deliveryInfoNotification": {
            "callbackData": reference,
            "deliveryInfo": {"address": "tel:+237690123456", "deliveryStatus": status},
        }
    }


def post_orange(body: Any, secret: str | None = ORANGE_SECRET) -> Any:
    path = ORANGE if secret is None else f"{ORANGE}?secret={secret}"
    return APIClient().post(path, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    ("words", "status", "code"),
    [
        (["DeliveredToNetwork"], "sent", ""),
        (["MessageWaiting", "DeliveredToTerminal"], "delivered", ""),
        (["DeliveryImpossible"], "undelivered", "DeliveryImpossible"),
        (["DeliveredToTerminal", "DeliveredToNetwork"], "delivered", ""),
        (["DeliveryUncertain"], "accepted", ""),
    ],
)
def test_orange_statuses_are_mapped(words: list[str], status: str, code: str) -> None:
    record = SmsRecordFactory(provider="orange", provider_message_id="9f1c2b")
    for word in words:
        assert post_orange(orange_notification(word)).status_code == 204
    record.refresh_from_db()
    assert (record.status, record.provider_code) == (status, code)


@pytest.mark.parametrize("secret", [None, "wrong"])
def test_an_orange_notification_without_our_secret_is_refused(secret: str | None) -> None:
    assert post_orange(orange_notification("DeliveredToTerminal"), secret=secret).status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"deliveryInfoNotification": "x"},
        {"deliveryInfoNotification": {"callbackData": "9f1c2b"}},
        [1, 2],
        {"deliveryInfoNotification": {"callbackData": 7, "deliveryInfo": {"deliveryStatus": "DeliveredToTerminal"}}},
    ],
)
def test_a_malformed_orange_notification_is_a_400(body: Any) -> None:
    response = post_orange(body)
    assert (response.status_code, response.json()["code"]) == (400, "receipt_malformed")


def test_an_unparsable_orange_body_is_a_400_not_a_500() -> None:
    response = APIClient().post(f"{ORANGE}?secret=orange-secret", "{not json", content_type="application/json")
    assert response.status_code == 400


# --- The sends ask for the receipts ----------------------------------------------------------------------


@responses.activate
def test_twilio_sends_ask_for_the_status_callback(settings: Any) -> None:
    from sms import get_sms_gateway

    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_FROM_NUMBER = "AC1", "+15005550006"
    settings.TWILIO_API_URL = "https://twilio.test"
    responses.post("https://twilio.test/2010-04-01/Accounts/AC1/Messages.json", json={"sid": SID}, status=201)
    get_sms_gateway("sms.backends.twilio.SmsBackend").send_message("+237670123456", "x")
    sent = parse_qs(responses.calls[0].request.body)
    assert sent["StatusCallback"] == [BASE + TWILIO]


@responses.activate
def test_orange_sends_ask_for_a_receipt_and_name_the_message_by_its_callback_data(settings: Any) -> None:
    from sms import get_sms_gateway

    settings.ORANGE_CLIENT_ID, settings.ORANGE_CLIENT_SECRET = "id", "s"
    settings.ORANGE_SENDER_ADDRESS, settings.ORANGE_API_URL = "tel:+2376990000", "https://orange.test"
    responses.post("https://orange.test/oauth/v3/token", json={"access_token": "t"})
    responses.post("https://orange.test/smsmessaging/v1/outbound/tel%3A%2B2376990000/requests", json={}, status=201)
    result = get_sms_gateway("sms.backends.orange.SmsBackend").send_message("+237690123456", "x")
    request = json.loads(responses.calls[1].request.body)["outboundSMSMessageRequest"]["receiptRequest"]
    assert request == {"notifyURL": f"{BASE}{ORANGE}?secret=orange-secret", "callbackData": result.message_id}
    assert len(result.message_id) == 32


# --- Bodies and headers meant to break the endpoints (review of issue 11) --------------------------------------


@pytest.mark.parametrize("signature", ["é", "\udcff", "ø" * 28])
def test_a_non_ascii_twilio_signature_is_refused_not_a_500(signature: str) -> None:
    """compare_digest refuses a str with non-ASCII characters: compared as bytes, it is a wrong signature."""
    record = twilio_record()
    response = APIClient().post(
        TWILIO, urlencoded(twilio_form("delivered")), content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )
    assert (response.status_code, response.json()["code"]) == (403, "receipt_refused")
    record.refresh_from_db()
    assert record.status == "accepted"


@pytest.mark.parametrize("secret", ["é", "%C3%A9", "%ED%B3%BF"])
def test_a_non_ascii_callback_secret_is_refused_not_a_500(secret: str) -> None:
    assert post_at(at_report("Success"), secret=secret).status_code == 403
    assert post_orange(orange_notification("DeliveredToTerminal"), secret=secret).status_code == 403


@pytest.mark.parametrize("message_id", ["ATXid\x00", "x" * 65])
def test_a_message_id_no_record_can_hold_is_malformed(message_id: str) -> None:
    """A NUL (PostgreSQL refuses it in text: a 500 there, not on SQLite) or an id longer than a record keeps."""
    assert post_at({**at_report("Success"), "id": message_id}).status_code == 400
    assert post_orange(orange_notification("DeliveredToTerminal", reference=message_id)).status_code == 400
    form = {**twilio_form("delivered"), "MessageSid": message_id}
    assert signed_twilio(form).status_code == 400


def test_a_failure_reason_with_a_nul_or_too_long_is_kept_cut_and_clean() -> None:
    receipt = Receipt("africastalking", "ATXid_1", "undelivered", "Absent\x00Subscriber" + "!" * 100)
    assert receipt.error_code == ("AbsentSubscriber" + "!" * 100)[:64]
