"""Open311 GeoReport v2 through the gateway (/open311/v2/), on the whole platform in this
process: every endpoint in JSON and XML, the spec's errors, a submission followed on the
citizen's tracking page, and no personal data in what is listed."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET

import aiohttp
import pytest
from pydantic import ValidationError

from gateway.public_api.open311 import to_xml
from gateway.settings import GatewaySettings
from shared.codes import grouped, is_well_formed
from tests.channels.conftest import BODY, OPEN311_KEY, OPEN311_KEYS, OTHER_KEY, PLACE, THEME
from tests.front.conftest import running_front
from tests.stack import start_stack
from tests.support import signed_session

SERVICE = f"{BODY}.reclamation"
EMAIL = "awa.traore@example.ci"
PHONE = "+2250707654321"
MESSAGE = "Le guichet des pensions est fermé depuis trois semaines sans explication."
PERSONAL = (EMAIL, "TRAORE", "Awa", "0707654321", "guichet des pensions", "Rue des Jardins")


def form(**overrides) -> dict:
    values = {
        "api_key": OPEN311_KEY,
        "service_code": SERVICE,
        "description": MESSAGE,
        "email": EMAIL,
        "first_name": "Awa",
        "last_name": "TRAORE",
        "phone": "07 07 65 43 21",
        "lat": "5.3197",
        "long": "-4.0168",
        "address_string": "Rue des Jardins, Plateau",
        "attribute[theme_id]": THEME,
        "attribute[place_id]": PLACE,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


async def get(url: str, **params) -> tuple[int, str, str]:
    async with signed_session() as http, http.get(url, params=params) as resp:
        return resp.status, resp.content_type, await resp.text()


async def post(url: str, data: dict) -> tuple[int, str, str]:
    async with signed_session() as http, http.post(url, data=data) as resp:
        return resp.status, resp.content_type, await resp.text()


async def web_submission(gateway: str) -> str:
    """A request from the web front office's API (not Open311); returns its code."""
    payload = {
        "nature": "suggestion",
        "body_id": BODY,
        "theme_id": THEME,
        "message": "Ouvrir le guichet le samedi matin.",
        "contact": {"country": "CI", "phone": "0505123456", "email": "kone@example.ci"},
    }
    async with (
        signed_session() as http,
        http.post(gateway + "/api/v1/requests", json=payload) as resp,
    ):
        assert resp.status == 201, await resp.text()
        return (await resp.json())["code"]


def xml_items(text: str, root: str) -> list[dict]:
    """The spec's XML (``<root><item><field>…``) as a list of dicts of texts."""
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    element = ET.fromstring(text.encode())
    assert element.tag == root
    return [{child.tag: child.text or "" for child in item} for item in element]


async def test_services_and_their_definitions_in_json_and_xml(channels_stack):
    base = channels_stack.gateway + "/open311/v2"
    status, kind, text = await get(f"{base}/services.json")
    assert (status, kind) == (200, "application/json")
    services = json.loads(text)
    # Every public body of the catalogue × the five natures.
    assert len(services) == 11 * 5
    budget = next(s for s in services if s["service_code"] == SERVICE)
    assert budget == {
        "service_code": SERVICE,
        "service_name": "Réclamation — Ministère du budget et du Portefeuille de l'Etat",
        "description": "Signaler un mauvais fonctionnement d'un service de Ministère du budget "
        "et du Portefeuille de l'Etat ; l'organisme vous répond.",
        "metadata": True,
        "type": "realtime",
        "keywords": "réclamation, ministere-budget",
        "group": "Ministère du budget et du Portefeuille de l'Etat",
    }
    assert {s["service_code"].rpartition(".")[2] for s in services} == {
        "reclamation",
        "suggestion",
        "observation",
        "motion_felicitations",
        "demande_information",
    }

    status, kind, text = await get(f"{base}/services.xml")
    assert (status, kind) == (200, "application/xml")
    items = xml_items(text, "services")
    assert len(items) == len(services)
    xml_budget = next(i for i in items if i["service_code"] == SERVICE)
    assert xml_budget["metadata"] == "true"
    assert xml_budget["group"] == budget["group"]  # the apostrophe survives

    status, _, text = await get(f"{base}/services/{SERVICE}.json")
    assert status == 200
    definition = json.loads(text)
    assert definition["service_code"] == SERVICE
    theme, place = definition["attributes"]
    assert (theme["code"], theme["datatype"], theme["order"]) == ("theme_id", "singlevaluelist", 1)
    assert {"key": THEME, "name": "ACCUEIL : Espace d'accueil"} in theme["values"]
    assert place["code"] == "place_id"
    assert {"key": PLACE, "name": "Plateau (District Autonome d'Abidjan)"} in place["values"]

    status, _, text = await get(f"{base}/services/{SERVICE}.xml")
    assert status == 200
    root = ET.fromstring(text.encode())
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == SERVICE
    attributes = root.find("attributes").findall("attribute")
    assert [a.findtext("code") for a in attributes] == ["theme_id", "place_id"]
    keys = [v.findtext("key") for v in attributes[0].find("values").findall("value")]
    assert THEME in keys

    for fmt in ("json", "xml"):
        status, _, text = await get(f"{base}/services/ministere-inconnu.reclamation.{fmt}")
        assert status == 404
        if fmt == "json":
            [error] = json.loads(text)
        else:
            [error] = xml_items(text, "errors")
            error["code"] = int(error["code"])
        assert error["code"] == 404
        assert "service_code" in error["description"]


async def test_a_submission_through_open311_is_followed_by_code_and_email(
    channels_stack, smtp_server, fake_sms, intake_db
):
    base = channels_stack.gateway + "/open311/v2"
    status, kind, text = await post(f"{base}/requests.json", form(media_url="https://x.test/a.jpg"))
    assert (status, kind) == (201, "application/json"), text
    [created] = json.loads(text)
    code = created["service_request_id"]
    assert is_well_formed(code)
    assert f"Le numéro de la demande est {code}" in created["service_notice"]
    assert "media_url n'a pas été repris" in created["service_notice"]

    # The citizen follows it on the tracking page with the code and the email.
    jar = aiohttp.CookieJar(unsafe=True)
    async with signed_session(cookie_jar=jar) as http:
        async with http.get(channels_stack.gateway + "/suivre") as resp:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)
        async with http.post(
            channels_stack.gateway + "/suivre",
            data={"csrf_token": token, "code": code, "email": EMAIL},
        ) as resp:
            page = html.unescape(await resp.text())
            assert resp.status == 200, page
    assert f"Suivi de la requête {grouped(code)}" in page
    assert MESSAGE in page

    # Stored as the web form would: checked phone, theme, place; the location kept aside.
    row = await intake_db.fetchrow(
        """SELECT r.channel, r.theme_id, r.place_id, c.phone, c.first_names, o.channel AS o311,
                  o.lat, o.long, o.address_string
           FROM requests r JOIN contacts c ON c.request_id = r.id
           JOIN open311_requests o ON o.request_id = r.id WHERE r.code = $1""",
        code,
    )
    assert (row["channel"], row["o311"]) == ("open311", "fixmystreet-ci")
    assert (row["theme_id"], row["place_id"], row["phone"]) == (THEME, PLACE, PHONE)
    assert (row["lat"], row["long"]) == (5.3197, -4.0168)

    # The code by email and by SMS.
    [mail] = await smtp_server.wait_for(EMAIL)
    assert code in mail.get_body(("plain",)).get_content()
    [sms] = await fake_sms.wait_for(PHONE)
    public_url = channels_stack.gateway
    assert sms.message == (
        f"Milie : votre réclamation est enregistrée. Son code : {code}. "
        f"Gardez-le pour la suivre sur {public_url}/suivre?code={code}"
    )
    assert (sms.sender_address, sms.sender_name) == (f"tel:+{fake_sms.sender}", "Milie")

    # The XML variant of the submission.
    status, kind, text = await post(
        f"{base}/requests.xml", form(service_code=f"{BODY}.suggestion", media_url=None)
    )
    assert (status, kind) == (201, "application/xml"), text
    [created_xml] = xml_items(text, "service_requests")
    second = created_xml["service_request_id"]
    assert is_well_formed(second) and second != code
    assert "media_url" not in created_xml["service_notice"]

    web_code = await web_submission(channels_stack.gateway)

    # A request's status, to anyone who knows its code: no api_key (the spec asks it for POST).
    status, _, text = await get(f"{base}/requests/{code}.json")
    assert status == 200, text
    [one] = json.loads(text)
    assert one["service_request_id"] == code
    assert one["status"] == "open"
    assert one["status_notes"] == "En attente de traitement"
    assert one["service_code"] == SERVICE
    assert one["agency_responsible"] == "Ministère du budget et du Portefeuille de l'Etat"
    assert one["requested_datetime"].endswith("+00:00")
    assert set(one) == {
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "agency_responsible",
        "requested_datetime",
        "updated_datetime",
    }
    status, _, text_xml = await get(f"{base}/requests/{code}.xml")
    assert status == 200
    assert xml_items(text_xml, "service_requests") == [{k: str(v) for k, v in one.items()}]

    status, _, listed = await get(f"{base}/requests.json", api_key=OPEN311_KEY)
    assert [r["service_request_id"] for r in json.loads(listed)] == [second, code]
    status, _, listed = await get(
        f"{base}/requests.json", api_key=OPEN311_KEY, service_code=SERVICE, status="open"
    )
    assert [r["service_request_id"] for r in json.loads(listed)] == [code]
    status, _, listed = await get(f"{base}/requests.json", api_key=OPEN311_KEY, status="closed")
    assert json.loads(listed) == []
    status, _, listed = await get(
        f"{base}/requests.json", api_key=OPEN311_KEY, start_date="2001-01-01T00:00:00Z"
    )
    assert json.loads(listed) == []
    status, _, by_ids = await get(
        f"{base}/requests.json", service_request_id=f"{second},0000000000,{web_code}"
    )
    assert status == 200, by_ids
    # Newest first; an unknown code is left out; one from the web form is followed as well.
    assert [r["service_request_id"] for r in json.loads(by_ids)] == [web_code, second]
    status, _, listed_xml = await get(f"{base}/requests.xml", api_key=OPEN311_KEY)
    assert [i["service_request_id"] for i in xml_items(listed_xml, "service_requests")] == [
        second,
        code,
    ]

    # Never the contact, the message nor the location.
    for text_out in (text, text_xml, listed, listed_xml, by_ids):
        for secret in (*PERSONAL, "kone@example.ci", "samedi matin"):
            assert secret not in text_out

    # A search lists codes (half of the tracking page's key): only to the channel that submitted
    # them. Another channel's search does not list them, and a search without a key is refused.
    status, _, other = await get(f"{base}/requests.json", api_key=OTHER_KEY)
    assert (status, json.loads(other)) == (200, [])
    # With its key, a channel reads its own requests only (and is not counted as a client).
    status, _, other = await get(f"{base}/requests/{code}.json", api_key=OTHER_KEY)
    assert status == 404
    status, _, own = await get(f"{base}/requests/{code}.json", api_key=OPEN311_KEY)
    assert json.loads(own) == [one]
    for fmt in ("json", "xml"):
        status, _, refused = await get(f"{base}/requests.{fmt}")
        assert status == 400
        assert web_code not in refused and code not in refused


async def test_errors_in_the_spec_format(channels_stack, intake_db):
    base = channels_stack.gateway + "/open311/v2"

    async def errors(response: tuple[int, str, str]) -> tuple[int, list[tuple[int, str]]]:
        status, kind, text = response
        if kind == "application/xml":
            found = [(int(e["code"]), e["description"]) for e in xml_items(text, "errors")]
        else:
            assert kind == "application/json"
            found = [(e["code"], e["description"]) for e in json.loads(text)]
        assert all(code == status for code, _ in found)
        return status, found

    # A bad or missing api_key: 403, in both formats.
    for fmt in ("json", "xml"):
        status, found = await errors(
            await post(f"{base}/requests.{fmt}", form(api_key="pas-la-bonne-cle"))
        )
        assert status == 403
        assert "api_key" in found[0][1]
        # Reading needs no key, but a key that is given must be right.
        status, _ = await errors(await get(f"{base}/requests.{fmt}", api_key="x"))
        assert status == 403
        status, _ = await errors(await get(f"{base}/requests/1234567890.{fmt}", api_key="x"))
        assert status == 403
        # Without a key, a search names what is missing; an unknown code is a 404.
        status, found = await errors(await get(f"{base}/requests.{fmt}"))
        assert status == 400 and "service_request_id" in found[0][1]
        status, _ = await errors(await get(f"{base}/requests/1234567890.{fmt}"))
        assert status == 404

    # Faulty fields: 400, one error per field, in the client's field names.
    status, found = await errors(
        await post(
            f"{base}/requests.json",
            form(
                email=None, phone="12", description="", lat="north", **{"attribute[theme_id]": "x"}
            ),
        )
    )
    assert status == 400
    described = {d.split(" : ")[0] for _, d in found}
    # A number was given (a faulty one): no email is asked for besides.
    assert described == {"lat/long", "phone", "description"}
    # Neither a number nor an email: both named, with the same sentence.
    status, found = await errors(await post(f"{base}/requests.json", form(email=None, phone=None)))
    assert status == 400
    said = dict(d.split(" : ", 1) for _, d in found)
    assert set(said) == {"email", "phone"}
    assert said["email"].startswith("Indiquez votre numéro de mobile ou votre email")
    status, found = await errors(
        await post(f"{base}/requests.xml", form(service_code="ministere-inconnu.reclamation"))
    )
    assert status == 400
    assert found == [(400, "service_code : ce service n'existe pas : consultez services.json.")]
    status, found = await errors(
        await post(f"{base}/requests.json", form(**{"attribute[theme_id]": "inconnu"}))
    )
    assert [d for _, d in found] == ["attribute[theme_id] : Choisissez un thème dans la liste."]
    async with (
        signed_session() as http,
        http.post(f"{base}/requests.json", json=form()) as resp,
    ):
        assert resp.status == 400
    assert await intake_db.fetchval("SELECT count(*) FROM requests") == 0

    # Search parameters, unknown ids and endpoints.
    for params in ({"status": "pending"}, {"start_date": "hier"}, {"service_code": "x"}):
        status, found = await errors(
            await get(f"{base}/requests.json", api_key=OPEN311_KEY, **params)
        )
        assert status == 400, params
    status, _ = await errors(
        await get(
            f"{base}/requests.xml",
            api_key=OPEN311_KEY,
            start_date="2024-01-01T00:00:00Z",
            end_date="2024-06-01T00:00:00Z",
        )
    )
    assert status == 400
    status, _ = await errors(await get(f"{base}/requests/1234567890.json"))
    assert status == 404
    status, _ = await errors(await get(f"{base}/requests/abc.xml"))
    assert status == 404
    status, _ = await errors(await get(f"{base}/discovery.xml"))
    assert status == 404


async def test_reading_by_code_without_a_key_counts_as_tracking_look_ups(settings_for, smtp_server):
    # Otherwise anyone could try codes, unthrottled, to learn which exist.
    exits = await start_stack(
        settings_for, smtp_server.port, open311_keys=OPEN311_KEYS, tracking_per_client=3
    )
    async with exits:
        gateway = exits.stack.gateway
        code = await web_submission(gateway)
        base = gateway + "/open311/v2"
        status, _, text = await get(f"{base}/requests/{code}.json")
        assert status == 200, text
        status, _, text = await get(f"{base}/requests.json", service_request_id=f"{code},{code}")
        assert status == 200, text
        for fmt in ("json", "xml"):
            status, kind, text = await get(f"{base}/requests/{code}.{fmt}")
            assert status == 429, text
            found = (
                xml_items(text, "errors")[0]["description"]
                if kind == "application/xml"
                else json.loads(text)[0]["description"]
            )
            assert re.search(r"Réessayez dans \d+ minutes?\.", found), found
        # The tracking page shares the same count for this client address.
        jar = aiohttp.CookieJar(unsafe=True)
        async with signed_session(cookie_jar=jar) as http:
            async with http.get(gateway + "/suivre") as resp:
                token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text())
            async with http.post(
                gateway + "/suivre",
                data={"csrf_token": token.group(1), "code": code, "email": "kone@example.ci"},
            ) as resp:
                assert resp.status == 429
        # A channel with its key is not a client address: its own reads go on.
        status, _, text = await get(f"{base}/requests.json", api_key=OPEN311_KEY)
        assert (status, json.loads(text)) == (200, [])


async def test_another_method_is_refused_in_the_spec_format_with_allow(settings_for):
    # A client that POSTs to services.json or DELETEs a request got aiohttp's plain text
    # « 405: Method Not Allowed », which no Open311 client reads as an error list.
    async with running_front(settings_for) as gateway, aiohttp.ClientSession() as http:
        base = gateway + "/open311/v2"
        for method, path, allowed in (
            ("POST", "/services.json", "GET"),
            ("DELETE", "/requests.xml", "GET, POST"),
            ("PUT", "/requests/1234567890.json", "GET"),
            ("POST", f"/services/{SERVICE}.xml", "GET"),
        ):
            async with http.request(method, base + path) as resp:
                assert (resp.status, resp.headers["Allow"]) == (405, allowed), path
                text = await resp.text()
                if path.endswith(".xml"):
                    assert resp.content_type == "application/xml"
                    found = [(int(e["code"]), e["description"]) for e in xml_items(text, "errors")]
                else:
                    assert resp.content_type == "application/json"
                    found = [(e["code"], e["description"]) for e in json.loads(text)]
                assert found == [(405, f"Méthodes permises ici : {allowed}.")]
        async with http.put(base + "/discovery.json") as resp:
            assert resp.status == 404
            assert [e["code"] for e in await resp.json()] == [404]


async def test_a_missing_service_code_is_said_missing_not_unknown(settings_for):
    async with running_front(settings_for, open311_keys=OPEN311_KEYS) as gateway:
        base = gateway + "/open311/v2"
        for code, said in (
            (
                None,
                "service_code : ce champ est obligatoire : choisissez un service dans "
                "services.json.",
            ),
            (
                "",
                "service_code : ce champ est obligatoire : choisissez un service dans "
                "services.json.",
            ),
            (BODY, "service_code : ce service n'existe pas : consultez services.json."),
        ):
            status, _, text = await post(f"{base}/requests.json", form(service_code=code))
            assert (status, json.loads(text)) == (400, [{"code": 400, "description": said}]), code


async def test_xml_is_escaped_and_keeps_only_what_xml_can_carry():
    text = to_xml(
        "errors",
        [{"code": 400, "description": "a < b & c > d \"e\" 'f' \x00\x1b g"}, {"code": None}],
    )
    root = ET.fromstring(text.encode())
    assert root.find("error").findtext("description") == "a < b & c > d \"e\" 'f'  g"
    assert root.findall("error")[1].findtext("code") == ""
    assert "&lt;" in text and "&amp;" in text


def test_keys_are_read_from_the_environment_and_must_be_long(monkeypatch):
    assert GatewaySettings().open311_keys == {}  # no key: nobody may submit
    monkeypatch.setenv("MILIE_OPEN311_KEYS", f"{OPEN311_KEY}=fixmystreet-ci, {OTHER_KEY}=autre")
    settings = GatewaySettings()
    assert settings.open311_keys == {OPEN311_KEY: "fixmystreet-ci", OTHER_KEY: "autre"}
    assert OPEN311_KEY not in repr(settings)
    for bad in ("court=canal", f"{OPEN311_KEY}=nom invalide", "sans-egal"):
        monkeypatch.setenv("MILIE_OPEN311_KEYS", bad)
        with pytest.raises(ValidationError):
            GatewaySettings()
