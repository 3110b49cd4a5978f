"""The citizen's side on a cheap phone: 360 px wide, the keyboard alone, French.

Each test shows a defect a citizen met: the header's menu scrolling sideways, a field echoing back
whatever was typed, however long."""

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import urlsplit

import aiohttp
import pytest
from playwright.async_api import expect

from shared import french
from tests.browser import ARTIFACTS
from tests.front.conftest import PNG, running_front
from tests.front.pages import form_fields, new_page

# Every citizen page a citizen reaches without a request of their own (the tracking page has its
# own test below), and two error pages.
CITIZEN_PAGES = {
    "accueil": "/",
    "a-propos": "/a-propos",
    "informations": "/informations",
    "guide": "/guide",
    "conditions": "/conditions-utilisation",
    "nature": "/soumettre",
    "organisme": "/soumettre/organisme?nature=reclamation",
    "formulaire": "/soumettre/formulaire?nature=reclamation&organisme=ministere-budget",
    "saisie-expiree": f"/soumettre/confirmer?brouillon={uuid.uuid4()}",
    "organismes": "/organismes",
    "statistiques": "/statistiques",
    "suivre": "/suivre",
    "code-oublie": "/suivre/code-oublie",
    "introuvable": "/cette-page-n-existe-pas",
}
FITS = "document.scrollingElement.scrollWidth <= window.innerWidth"


async def test_at_360_px_no_citizen_page_scrolls_sideways_and_the_whole_menu_is_in_sight(
    front, browser
):
    """The menu once stayed on one line that scrolled sideways: « Informations » and « Le guide »
    were off the screen, reachable only by a sideways swipe nobody guesses. Now every link of
    the menu is within the 360 px, without JavaScript."""
    context, page = await new_page(browser, javascript=False)
    try:
        for name, path in CITIZEN_PAGES.items():
            await page.goto(front + path)
            assert await page.evaluate(FITS), f"{name} scrolls sideways at 360 px"
            menu = page.get_by_role("navigation", name="Menu principal")
            scrolls = await menu.locator("ul").evaluate("u => u.scrollWidth > u.clientWidth")
            assert not scrolls, f"{name}: the menu scrolls sideways"
            for link in await menu.get_by_role("link").all():
                box = await link.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, (
                    f"{name}: « {await link.inner_text()} » is off the screen: {box}"
                )
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "citizen-menu-360.png"), full_page=True)
        raise
    finally:
        await context.close()


async def test_the_keyboard_reaches_every_link_of_the_menu_in_order_at_360_px(front, browser):
    """Tab from the top: « Aller au contenu », the portal's name, then the menu's links in the
    order they are read, each visible on screen when it has the focus."""
    context, page = await new_page(browser, javascript=False)
    try:
        await page.goto(front + "/suivre")
        menu = page.get_by_role("navigation", name="Menu principal")
        labels = [await link.inner_text() for link in await menu.get_by_role("link").all()]
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
        await page.keyboard.press("Tab")  # the portal's name
        for label in labels:
            await page.keyboard.press("Tab")
            link = menu.get_by_role("link", name=label, exact=True)
            await expect(link).to_be_focused()
            await expect(link).to_be_in_viewport()
    finally:
        await context.close()


# -- what each field accepts -------------------------------------------------------------------

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
HUGE = 2**20  # 1 Mo typed (or pasted, or sent by a script) into one field


async def _token(http, url: str) -> str:
    async with http.get(url) as resp:
        return TOKEN.search(await resp.text()).group(1)


def _maxlength(html: str, field: str) -> int | None:
    tag = re.search(rf'<(?:input|textarea)[^>]*\bid="f-{field}"[^>]*>', html)
    assert tag, field
    found = re.search(r'\bmaxlength="(\d+)"', tag.group(0))
    return int(found.group(1)) if found else None


def _error_beside(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="err-{field}">([^<]*)</p>', html)
    assert found, f"no error beside {field}"
    return found.group(1)


async def test_the_tracking_forms_cap_each_field_and_never_echo_a_huge_value(front):
    """A 1 Mo code came back in the page in full (the page weighed 1 Mo, on mobile data); now
    each field says how much it takes (maxlength) and the server refuses more beside the field,
    what was typed cut to the field's length."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(front + "/suivre") as resp:
            page = await resp.text()
        assert (_maxlength(page, "code"), _maxlength(page, "email")) == (40, 254)
        # « Suivre ma réclamation »'s link fills the code in, never more than the field takes.
        async with http.get(front + "/suivre?code=" + "5030529490" * 10) as resp:
            assert 'value="' + "5030529490" * 4 + '"' in await resp.text()
        token = TOKEN.search(page).group(1)
        for field, other in (("code", ("email", "aya@example.ci")), ("email", ("code", "1"))):
            form = {"csrf_token": token, field: "7" * HUGE, other[0]: other[1]}
            async with http.post(front + "/suivre", data=form) as resp:
                assert resp.status == 422, field
                page = await resp.text()
            assert len(page) < 50_000, f"{field}: {len(page)} characters sent back"
            limit = _maxlength(page, field)
            assert _error_beside(page, field) == (
                f"Ce texte compte {french.number(HUGE)} caractères : {limit} au plus."
            )

        async with http.get(front + "/suivre/code-oublie") as resp:
            assert _maxlength(await resp.text(), "email") == 254
        form = {"csrf_token": token, "email": "a" * HUGE}
        async with http.post(front + "/suivre/code-oublie", data=form) as resp:
            assert resp.status == 422
            page = await resp.text()
        assert len(page) < 50_000
        assert (
            _error_beside(page, "email")
            == f"Ce texte compte {french.number(HUGE)} caractères : 254 au plus."
        )


async def test_the_submission_form_caps_each_field_and_never_echoes_a_huge_value(front):
    """« Vos coordonnées » took any length (intake refused past 100 characters, but the 32 Kio
    the gateway read came back in the page); now each field says its limit and the page keeps
    only that much, the error beside the field."""
    url = front + "/soumettre/formulaire?nature=reclamation&organisme=ministere-budget"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(url) as resp:
            page = await resp.text()
        limits = {f: _maxlength(page, f) for f in ("last_name", "first_names", "phone", "email")}
        assert limits == {"last_name": 100, "first_names": 150, "phone": 40, "email": 254}
        assert _maxlength(page, "message") == 5000
        form = aiohttp.FormData(default_to_multipart=True)  # as the browser sends it
        form.add_field("csrf_token", TOKEN.search(page).group(1))
        form.add_field("draft_id", "")
        form.add_field("body_id", "ministere-budget")
        form.add_field("nature", "reclamation")
        form.add_field("message", "Le guichet est fermé.")
        form.add_field("last_name", "K" * 20_000)
        form.add_field("first_names", "Aya")
        form.add_field("country", "CI")
        form.add_field("email", "aya@example.ci")
        form.add_field("terms_accepted", "on")
        async with http.post(front + "/soumettre/formulaire", data=form) as resp:
            assert resp.status == 422
            page = await resp.text()
        assert "K" * 101 not in page
        assert _error_beside(page, "last_name") == (
            f"Ce texte compte {french.number(20_000)} caractères : 100 au plus."
        )


async def test_the_searches_among_bodies_say_how_long_a_search_may_be(front):
    """The server searched on the first 100 characters of a longer search without a word; the
    field now stops there (maxlength) as the search does."""
    async with aiohttp.ClientSession() as http:
        for path in ("/organismes", "/soumettre/organisme?nature=reclamation"):
            async with http.get(front + path) as resp:
                page = await resp.text()
            tag = re.search(r'<input type="search"[^>]*>', page).group(0)
            assert 'maxlength="100"' in tag, path


async def test_an_address_without_its_at_sign_is_not_called_a_wrong_mobile_number(front):
    """« aya.kone.example.ci » (the « @ » forgotten on a phone's keyboard) was answered « Ce
    numéro de mobile n'est pas valide. »: the citizen never typed a number. Now the page says
    what is missing, on « Suivre une requête » and « Code requête oublié ? »."""
    said = (
        "Il manque le « @ » de l'adresse e-mail. Pour un numéro de mobile, saisissez ses "
        "chiffres, par exemple 07 07 12 34 56."
    )
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await _token(http, front + "/suivre")
        for path in ("/suivre", "/suivre/code-oublie"):
            form = {"csrf_token": token, "code": "1234567890", "email": "aya.kone.example.ci"}
            async with http.post(front + path, data=form) as resp:
                assert resp.status == 422, path
                page = await resp.text()
            assert html.unescape(_error_beside(page, "email")) == said, path


async def test_a_tracking_form_sent_back_with_errors_says_so_in_its_title(front):
    """The title is what a screen reader says first of a new page: the submission form's began
    with « Erreurs — » when refused, the tracking forms' did not (the page sounded the same as
    before sending)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await _token(http, front + "/suivre")
        for path, title in (
            ("/suivre", "Suivre une requête — Miliê"),
            ("/suivre/code-oublie", "Code requête oublié — Miliê"),
        ):
            async with http.get(front + path) as resp:
                assert f"<title>{title}</title>" in await resp.text()
            form = {"csrf_token": token, "code": "", "email": ""}
            async with http.post(front + path, data=form) as resp:
                assert resp.status == 422
                assert f"<title>Erreurs — {title}</title>" in await resp.text(), path


@pytest.mark.parametrize("sms_enabled", [True, False])
async def test_the_pages_that_explain_tracking_name_the_mobile_number_too(
    settings_for, sms_enabled
):
    """A citizen who gave only a mobile number (a call-centre caller, many without email) read
    on the home page, the guide and « Informations » that tracking needs an email address and
    that forgotten codes come by email: both work with the number (by SMS); « À propos » said the
    answer comes by email (an SMS tells of it). With SMS off (MILIE_SMS_ENABLED), no page
    promises one."""
    async with (
        running_front(settings_for, sms_enabled=sms_enabled) as front,
        aiohttp.ClientSession() as http,
    ):
        for path in ("/", "/guide", "/informations"):
            async with http.get(front + path) as resp:
                text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", await resp.text())))
            assert "numéro de mobile" in text, path
            assert "votre adresse électronique." not in text, path
            if path != "/":  # the forgotten codes, by SMS too
                assert ("SMS à votre numéro de mobile" in text) is sms_enabled, path
        async with http.get(front + "/guide") as resp:
            guide = re.sub(r"\s+", " ", html.unescape(await resp.text()))
        assert ("par email, ou par SMS" in guide) is sms_enabled
        assert ("le portail n'envoie pas de SMS pour l'instant" in guide) is not sms_enabled
        async with http.get(front + "/a-propos") as resp:
            about = re.sub(r"\s+", " ", await resp.text())
        assert ("un SMS vous prévient" in about) is sms_enabled


async def test_a_portal_link_opened_from_an_sms_keeps_the_form_and_its_document(
    front, browser, tmp_path
):
    """A citizen whose form was sent back (a document already kept in the draft) opens a link to
    the portal from an SMS or an email — another site — and comes back to the form: it was
    refused « Formulaire expiré ou invalide », its document lost. The form cookie was
    SameSite=Strict: not sent with that link's page, which then set a new one, and the draft
    belonged to the old one."""
    photo = tmp_path / "guichet.png"
    photo.write_bytes(PNG)
    site = urlsplit(front)
    elsewhere = f"http://localhost:{site.port}/"  # another site than 127.0.0.1
    context, page = await new_page(browser, javascript=False)
    try:
        form = "/soumettre/formulaire?nature=reclamation&organisme=ministere-budget"
        await page.goto(front + form)
        await page.get_by_label("Message").fill("Le guichet ferme avant l'heure affichée.")
        await page.get_by_label("Pièces jointes").set_input_files([photo])
        await page.get_by_role("button", name="Soumettre votre requête").press("Enter")
        await expect(page.locator(".attached")).to_contain_text("guichet.png")

        # Another tab: a link to the portal, followed from another site.
        other = await context.new_page()
        await other.goto(elsewhere)
        await other.set_content(f'<a href="{front}/suivre?code=5030529490">Suivre</a>')
        await other.get_by_role("link", name="Suivre").press("Enter")
        await other.get_by_role("heading", name="Suivre une requête").wait_for()
        await other.close()

        await page.get_by_label("Email").fill("aya.kouassi@example.ci")
        await page.get_by_label("J'accepte").check()
        await page.get_by_role("button", name="Soumettre votre requête").press("Enter")
        await page.get_by_role("heading", name=re.compile("Êtes-vous sûr")).wait_for()
        await expect(page.locator(".recap")).to_contain_text("guichet.png")
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "form-after-sms-link.png"), full_page=True)
        raise
    finally:
        await context.close()


async def test_a_message_cut_on_reading_is_never_given_a_false_count(front):
    """20 000 « é » came back as « Ce texte compte 16 385 caractères » and 100 000 « a » as
    « 32 769 »: the gateway keeps 32 Kio of a text field, and counted what it kept. A text cut
    on reading is said to be longer than what was kept; the page shows it as typed (no « � » of a
    character cut in two), up to what the field takes."""
    url = front + "/soumettre/formulaire?nature=reclamation&organisme=ministere-budget"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(url) as resp:
            token = TOKEN.search(await resp.text()).group(1)
        for typed in ("é" * 20_000, "a" * 100_000, "é" * 5_001):
            form = form_fields(token, message=typed, country="CI", email="aya@example.ci")
            async with http.post(front + "/soumettre/formulaire", data=form) as resp:
                assert resp.status == 422
                page = await resp.text()
            said = html.unescape(_error_beside(page, "message"))
            if len(typed.encode()) > 32 * 1024:
                assert said == (
                    f"Ce texte compte plus de {french.number(5000)} caractères : "
                    f"{french.number(5000)} au plus."
                ), said
            else:  # read whole: its true count
                assert said == (
                    f"Ce texte compte {french.number(5001)} caractères : "
                    f"{french.number(5000)} au plus."
                ), said
            shown = re.search(r'<textarea[^>]*id="f-message"[^>]*>([^<]*)</textarea>', page)
            assert html.unescape(shown.group(1)).strip("\n") == typed[:5000]
