"""Issue 11's journey, end to end in a real Chromium on the whole platform (one stack, two
requests), axe-core clean on every page visited, the citizen's and the focal point's pages at
360 px.

1. A citizen submits a réclamation through the web form; an analyst validates it in the back
   office; the body's focal point finds it « En cours », « Traiter », takes it in charge with an
   edited acknowledgement email (it arrives as edited), puts it on hold (the citizen's tracking
   page says so), resumes, answers with a PDF (« prévenu par email », the answer email
   with its text and link); the citizen follows the link, reads the answer, downloads the
   document (the same bytes) and says « Non satisfait » with a comment; the request is in
   « Insatisfaits » with the comment and the dashboard's counters move; the focal point answers
   again (« Répondre à l'usager ») and the citizen reads that message.
2. A second réclamation is answered, reopened by the citizen (« Relancer ») twice and answered
   twice through « Retraitement » (« Formulaire De Traitement Relance »), then closed
   « Satisfait » — the citizen's and the focal point's browsers without JavaScript this time;
   the counters and the public « Statistiques » count one request treated, one opinion.

On every page visited: axe-core clean (for a page shown without JavaScript, on a copy of it in a
page with JavaScript) and every link to the platform answers; the emails each step sends arrive
at the SMTP server. Waits are for states (Playwright's expect, tests.support.eventually).
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from email.header import decode_header, make_header

import pytest
from axe_playwright_python.async_playwright import Axe
from PIL import Image
from playwright.async_api import Page, expect

from shared.identity import Role
from shared.service import POOL
from tests.browser import ARTIFACTS
from tests.front.conftest import PDF, PNG
from tests.stack import Stack, start_stack
from tests.staff.helpers import create_account, follow_menu, sign_in
from tests.support import eventually
from tests.track.conftest import RELAXED
from tests.treatment.pages import BODY, validated_reclamation

BODY_NAME = "Ministère du budget et du Portefeuille de l'Etat"
CITIZEN = "aya.kouassi@example.ci"
SECOND = "serge.bamba@example.ci"
ANALYST_PASSWORD = "awa examine la file"
FOCAL_PASSWORD = "koffi traite les réclamations"
ANSWER = "Votre passeport est prêt : retirez-le au guichet 3 dès lundi."
COMMENT = "Le guichet 3 était fermé lundi."
AGAIN = "Le guichet 3 ouvre désormais de 8 h à 16 h, du lundi au vendredi."


@pytest.fixture
async def journey_stack(settings_for, smtp_server) -> AsyncIterator[Stack]:
    """The platform in this process, with tracking limits the journey never reaches (the
    citizen looks the requests up again and again)."""
    exits = await start_stack(settings_for, smtp_server.port, **RELAXED)
    async with exits:
        yield exits.stack  # type: ignore[attr-defined]


# The links already followed (by the context that saw them), so that each is fetched once.
_FOLLOWED: set[tuple[int, str]] = set()


async def _no_dead_link(page: Page) -> None:
    """Every link of the page to the platform itself answers (fetched with the page's cookies)."""
    origin = re.match(r"https?://[^/]+", page.url)[0]
    hrefs = await page.eval_on_selector_all(
        "a[href]:not([href^='#'])", "els => els.map(a => a.href.split('#')[0])"
    )
    dead = []
    for href in dict.fromkeys(hrefs):
        key = (id(page.context), href)
        if not href.startswith(origin) or key in _FOLLOWED:
            continue
        _FOLLOWED.add(key)
        response = await page.context.request.get(href, max_redirects=5)
        if response.status >= 400:
            dead.append(f"{href} → {response.status}")
    assert dead == [], f"dead links on {page.url}"


# A browser context without JavaScript (by its id) → a page with it, where axe-core (a script)
# checks what the first one shows.
_AXE_STAND_INS: dict[int, Page] = {}


async def _axe_results(page: Page):
    stand_in = _AXE_STAND_INS.get(id(page.context))
    if stand_in is None:
        return await Axe().run(page)
    origin = re.match(r"https?://[^/]+", page.url)[0]
    if not stand_in.url.startswith(origin):
        await stand_in.goto(origin + "/")
    await stand_in.set_content(await page.content())
    return await Axe().run(stand_in)


async def _clean(page: Page, *, narrow: bool = False) -> None:
    """axe-core finds nothing, no link is dead; ``narrow``: the page is at 360 px and nothing
    scrolls sideways."""
    await _no_dead_link(page)
    results = await _axe_results(page)
    violations = [
        f"{page.url} {v['id']}: {v['help']} — " + "; ".join(n["html"][:120] for n in v["nodes"])
        for v in results.response["violations"]
    ]
    assert violations == []
    if narrow:
        assert page.viewport_size["width"] == 360
        fits = await page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
        assert fits, f"{page.url} scrolls sideways at 360 px"


def _subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


async def _mail(smtp_server, to: str, subject_has: str, count: int = 1) -> list:
    async def found():
        mails = [m for m in smtp_server.to(to) if subject_has in _subject(m)]
        return mails if len(mails) >= count else None

    return await eventually(found)


async def _text(mail) -> str:
    return mail.get_body(("plain",)).get_content()


async def _until_shown(page: Page, locator, timeout: float = 30.0) -> None:
    """Reload ``page`` until ``locator`` shows (what another service has to apply first)."""

    async def shown():
        await page.reload()
        return await locator.count() > 0

    await eventually(shown, timeout=timeout, interval=0.3)


async def _track(page: Page, gateway: str, code: str, email: str) -> None:
    """« Suivre une requête » with the code and the email."""
    await page.goto(gateway + "/suivre")
    await page.get_by_label("Code Requête").fill(code)
    await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(email)
    await page.get_by_role("button", name="Valider").click()
    await page.locator("#status").wait_for()


async def _track_until(page: Page, gateway: str, code: str, email: str, probe) -> None:
    async def reached():
        await _track(page, gateway, code, email)
        return await probe()

    await eventually(reached, interval=0.3)


async def _status(page: Page) -> str:
    return (await page.locator("#status").inner_text()).strip()


async def _card(page: Page, label: str) -> int:
    """The figure of one card of the focal point's « Tableau de bord »."""
    card = page.locator("li.card").filter(has=page.get_by_role("heading", name=label, exact=True))
    figure = await card.locator("p.figure a").inner_text()
    return int(re.match(r"\s*(\d+)", figure)[1])


async def _badge(page: Page) -> str:
    """« À traiter » (the header's count): what waits for the focal point's body."""
    return (await page.locator(".bo-waiting .badge").inner_text()).strip()


async def _on_dashboard(page: Page, gateway: str, probe) -> None:
    """The « Tableau de bord » until ``probe`` holds (stats counts what the others publish)."""

    async def reached():
        await page.goto(gateway + "/admin/")
        return await probe()

    await eventually(reached, interval=0.3)


async def _submit_by_the_web_form(page: Page, gateway: str) -> str:
    await page.goto(gateway + "/")
    await _clean(page, narrow=True)
    await page.get_by_role("link", name="Soumettre une requête").first.click()
    await page.get_by_role("link", name="Réclamation").first.click()
    await _clean(page, narrow=True)
    await page.get_by_label("Rechercher un organisme").fill("budget")
    await page.get_by_role("button", name="Rechercher").click()
    await page.get_by_role("link", name=BODY_NAME).click()
    await _clean(page, narrow=True)
    await page.get_by_label("Commune ou S/Préfecture").select_option("abidjan-plateau")
    await page.get_by_label("Thème").select_option("accueil-espace")
    await page.get_by_label("Message").fill("Le guichet des passeports est fermé depuis lundi.")
    await page.get_by_label("Nom", exact=True).fill("KOUASSI")
    await page.get_by_label("Prénoms").fill("Aya")
    await page.get_by_label("Téléphone portable").fill("07 07 12 34 56")
    await page.get_by_label("Email").fill(CITIZEN)
    await page.get_by_label("J'accepte").check()
    await page.get_by_role("button", name="Soumettre votre requête").click()
    await page.get_by_role("button", name="Envoyer ma requête").click()  # « Êtes-vous sûr… ? »
    await page.get_by_text("Votre Réclamation a bien été enregistrée.").wait_for()
    await _clean(page, narrow=True)
    code = (await page.locator("#code").inner_text()).replace(" ", "")
    assert re.fullmatch(r"\d{10}", code)
    return code


async def _validate_in_the_back_office(page: Page, gateway: str, code: str) -> None:
    """The analyst finds the request by its code in « Traitements » and validates it."""
    await sign_in(page, gateway, "awa.kone", ANALYST_PASSWORD)

    async def queued():
        await page.goto(gateway + "/admin/traitements")
        await page.get_by_label("Rechercher (mots du message ou code de la requête)").fill(code)
        await page.get_by_role("button", name="Rechercher", exact=True).click()
        # An exact code opens its request once triage has it; until then, the empty queue.
        await page.get_by_role("heading", level=1).wait_for()
        return await page.get_by_role("heading", name=re.compile(code)).count() == 1

    await eventually(queued, interval=0.3)
    await _clean(page)
    await page.get_by_text("Valider la requête", exact=True).click()
    await page.get_by_role("button", name="Valider", exact=True).click()
    await page.get_by_text("La requête est validée.").wait_for()
    await _clean(page)
    await page.get_by_role("button", name="Se déconnecter").click()


async def _open_from_en_cours(page: Page, gateway: str, code: str) -> None:
    """« Traitements › En cours », the request's « Traiter »."""
    await follow_menu(page, "En cours")
    await expect(page.get_by_role("heading", name="Requêtes à traiter")).to_be_visible()
    treat = page.get_by_role("link", name=f"Traiter la requête {code}")
    await _until_shown(page, treat)
    await _clean(page, narrow=True)
    await treat.click()
    await page.get_by_role("heading", name="Formulaire De Traitement De Requête").wait_for()
    await _clean(page, narrow=True)


async def _answer(page: Page, message: str, button: str, document: bytes | None = None) -> None:
    await page.get_by_label("Message de fin traitement").fill(message)
    if document is not None:
        await page.get_by_label("Joindre un document").set_input_files(
            files=[{"name": "convocation.pdf", "mimeType": "application/pdf", "buffer": document}]
        )
    await page.get_by_role("button", name=button).click()
    await expect(page.locator("#resultat")).to_contain_text("L'usager en est prévenu par email à")
    await expect(page.locator("#statut")).to_contain_text("avis attendu")
    await _clean(page, narrow=True)


async def _retreat(
    page: Page, gateway: str, code: str, reopening: str, last: str, message: str
) -> None:
    """« Traitements › Retraitement », « Traiter à nouveau », « Soumettre à nouveau … »."""
    await follow_menu(page, "Retraitement")
    await expect(page.get_by_role("heading", name="Liste des requêtes réouvertes")).to_be_visible()
    again = page.get_by_role("link", name=f"Traiter à nouveau la requête {code}")
    await _until_shown(page, again)
    row = page.locator("table tbody tr").filter(has=again)
    await expect(row).to_contain_text("(réouverte pour un nouveau traitement)")
    await expect(row).to_contain_text(reopening)
    await _clean(page, narrow=True)
    await again.click()
    await page.get_by_role("heading", name="Formulaire De Traitement Relance").wait_for()
    await expect(page.get_by_role("heading", name="Message du dernier traitement")).to_be_visible()
    await expect(page.locator("#dernier-titre + p.message")).to_have_text(last)
    await expect(page.locator("section[aria-labelledby=retours-titre]")).to_contain_text(reopening)
    await _clean(page, narrow=True)
    await _answer(page, message, "Soumettre à nouveau le traitement")


async def _reopen(page: Page, gateway: str, code: str, email: str, answer: str, why: str) -> None:
    """The citizen reads ``answer`` on the tracking page and « Relancer » with ``why``."""

    async def answered():
        reading = page.locator("#answer-message")
        return await reading.count() > 0 and answer in await reading.inner_text()

    await _track_until(page, gateway, code, email, answered)
    await _clean(page, narrow=True)
    await page.get_by_role(
        "link", name="DONNER NOTRE AVIS DE FIN OU RELANCER LA REQUETE SVP !"
    ).click()
    await page.get_by_label("Votre message de relance").fill(why)
    await page.get_by_role("button", name="Relancer").click()
    await expect(page.locator("#notice")).to_contain_text("Votre requête a été relancée")
    await _clean(page, narrow=True)


async def test_a_reclamation_answered_judged_unsatisfying_then_one_reopened_twice(
    journey_stack, browser, database_url, smtp_server
):
    stack = journey_stack
    await create_account(database_url, Role.ANALYST, "awa.kone", ANALYST_PASSWORD, None, "Awa")
    await create_account(
        database_url, Role.FOCAL_POINT, "koffi.yao", FOCAL_PASSWORD, BODY, "Koffi YAO"
    )
    narrow = {"width": 360, "height": 740}
    contexts = [
        await browser.new_context(locale="fr-FR", viewport=narrow, accept_downloads=True),
        await browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}),
        await browser.new_context(locale="fr-FR", viewport=narrow),
        # For the second request, the citizen's and the focal point's browsers run no
        # JavaScript: the pages must work without it.
        await browser.new_context(locale="fr-FR", viewport=narrow, java_script_enabled=False),
        await browser.new_context(locale="fr-FR", viewport=narrow, java_script_enabled=False),
    ]
    citizen, analyst, focal, second, plain_focal = [await c.new_page() for c in contexts]
    _AXE_STAND_INS[id(contexts[3])] = await contexts[0].new_page()
    _AXE_STAND_INS[id(contexts[4])] = await contexts[0].new_page()
    pages = (
        ("citizen", citizen),
        ("analyst", analyst),
        ("focal", focal),
        ("second", second),
        ("plain-focal", plain_focal),
    )
    try:
        await _first_request(stack, citizen, analyst, focal, smtp_server)
        await sign_in(plain_focal, stack.gateway, "koffi.yao", FOCAL_PASSWORD)
        await _second_request(stack, second, plain_focal, smtp_server)
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        for name, page in pages:
            await page.screenshot(path=ARTIFACTS / f"journey-{name}.png", full_page=True)
        raise
    finally:
        _AXE_STAND_INS.clear()
        for context in contexts:
            await context.close()


async def _awaited(focal: Page) -> bool:
    return await _card(focal, "Avis attendus") == 1


async def _first_request(stack: Stack, citizen: Page, analyst: Page, focal: Page, smtp_server):
    gateway = stack.gateway
    code = await _submit_by_the_web_form(citizen, gateway)
    await _validate_in_the_back_office(analyst, gateway, code)

    # The focal point's dashboard before any opinion: the request waits for the body.
    await sign_in(focal, gateway, "koffi.yao", FOCAL_PASSWORD)
    await focal.get_by_role("heading", name="Tableau de bord").wait_for()

    async def waiting() -> bool:
        return await _badge(focal) == "1" and await _card(focal, "Réclamations à traiter") == 1

    await _on_dashboard(focal, gateway, waiting)
    await _clean(focal, narrow=True)
    unsatisfied, opinions = (
        await _card(focal, "Avis d'insatisfaction"),
        await _card(focal, "Avis exprimés"),
    )
    assert (unsatisfied, opinions) == (0, 0)

    await _open_from_en_cours(focal, gateway, code)
    assert (
        "Le guichet des passeports est fermé depuis lundi."
        in await focal.locator("main").inner_text()
    )

    # « Prendre en compte » with the acknowledgement email as the agent rewrites it.
    subject = focal.get_by_label("Objet du courriel")
    assert code in await subject.input_value()
    await subject.fill("Votre réclamation est entre les mains du ministère")
    await focal.get_by_label("Texte du courriel").fill(
        "Madame, nous avons bien reçu votre réclamation et nous la traitons."
    )
    await focal.locator("form[action$='/prendre-en-compte'] button").click()
    await expect(focal.locator("#resultat")).to_have_text(
        "La requête est prise en compte. L'accusé de réception est envoyé à l'usager."
    )
    await expect(focal.locator("#statut")).to_have_text("En cours de traitement")
    await _clean(focal, narrow=True)
    [ack] = await _mail(smtp_server, CITIZEN, "Votre réclamation est entre les mains du ministère")
    assert "nous la traitons" in await _text(ack)

    # « En cours » says who holds it and since when.
    await follow_menu(focal, "En cours")
    row = focal.locator("table tbody tr").filter(
        has=focal.get_by_role("link", name=f"Traiter la requête {code}")
    )
    await expect(row).to_contain_text(
        re.compile(r"En cours de traitement depuis le \d\d/\d\d/\d{4}")
    )
    await expect(row).to_contain_text("Pris en compte par Koffi YAO")  # by name (issue 12)
    await _clean(focal, narrow=True)
    await row.get_by_role("link", name=f"Traiter la requête {code}").click()
    await focal.get_by_role("heading", name="Formulaire De Traitement De Requête").wait_for()

    # « Mettre en attente »: the citizen's tracking page says so; then « Reprendre ».
    await focal.locator("summary", has_text="Mettre en attente").click()
    await focal.get_by_label("Motif de la mise en attente").fill(
        "Nous attendons le registre du centre d'état civil."
    )
    await focal.locator("form[action$='/mettre-en-attente'] button").click()
    await expect(focal.locator("#resultat")).to_have_text("La requête est mise en attente.")
    await _clean(focal, narrow=True)

    async def on_hold():
        return await _status(citizen) == "En cours de traitement (mise en attente)"

    await _track_until(citizen, gateway, code, CITIZEN, on_hold)
    history = await citizen.locator("ol.history").inner_text()
    assert "Nous attendons le registre du centre d'état civil." in history
    await _clean(citizen, narrow=True)
    [held] = await _mail(smtp_server, CITIZEN, "est mise en attente")
    assert "Nous attendons le registre du centre d'état civil." in await _text(held)

    await focal.get_by_role("button", name="Reprendre").click()
    await expect(focal.locator("#resultat")).to_have_text("Le traitement de la requête reprend.")
    await expect(focal.locator("#statut")).to_have_text("En cours de traitement")
    await _clean(focal, narrow=True)

    # The answer with a PDF; its email, with the answer and the link.
    await _answer(focal, ANSWER, "Répondre avec envoi de mail", PDF)
    # « Message de fin traitement » sent: nothing waits for the body; an opinion is awaited.
    await _on_dashboard(focal, gateway, lambda: _awaited(focal))
    assert await _badge(focal) == "0"
    assert await _card(focal, "Réclamations traitées") == 1
    assert await _card(focal, "Réclamations à traiter") == 0
    [mail] = await _mail(smtp_server, CITIZEN, "a été traitée")
    text = await _text(mail)
    assert ANSWER in text
    link = f"{gateway}/suivre?code={code}"
    assert link in text

    # The citizen follows the link, reads the answer, downloads the document.
    async def treated():
        await citizen.goto(link)
        assert await citizen.get_by_label("Code Requête").input_value() == code
        await citizen.get_by_label("Adresse e-mail ou numéro de mobile").fill(CITIZEN)
        await citizen.get_by_role("button", name="Valider").click()
        return await citizen.locator("#lecture").count() > 0

    await eventually(treated, interval=0.3)
    reading = citizen.locator("#lecture")
    await expect(
        reading.get_by_role("heading", name="LECTURE DU MESSAGE DE TRAITEMENT")
    ).to_be_visible()
    assert ANSWER in await reading.locator("#answer-message").inner_text()
    assert re.fullmatch(
        r"Traité le \d\d/\d\d/\d{4} par .+", await reading.locator("#treated-on").inner_text()
    )
    await _clean(citizen, narrow=True)
    async with citizen.expect_download() as caught:
        await reading.get_by_role("button", name=re.compile("Télécharger convocation.pdf")).click()
    download = await caught.value
    assert download.suggested_filename == "convocation.pdf"
    assert (await download.path()).read_bytes() == PDF
    history = await citizen.locator("ol.history").inner_text()
    for said in (
        "Le point focal de l'organisme a pris en charge la requête.",
        "L'organisme a mis la requête en attente (voir le motif).",
        "L'organisme a repris le traitement de la requête.",
        "le ministère a répondu",
    ):
        assert said in history, (said, history)

    # « Non satisfait » with a comment.
    await citizen.get_by_role(
        "link", name="DONNER NOTRE AVIS DE FIN OU RELANCER LA REQUETE SVP !"
    ).click()
    await citizen.get_by_role("radio", name="Non satisfait").check()
    await citizen.get_by_role("textbox", name="Commentaire (facultatif)").fill(COMMENT)
    await citizen.get_by_role("button", name="Donner mon avis").click()
    await expect(citizen.locator("#notice")).to_contain_text("Votre avis a été enregistré")
    await _clean(citizen, narrow=True)

    # The analysts may now send their « Message d'éclaircissement », the comment before them.
    await sign_in(analyst, gateway, "awa.kone", ANALYST_PASSWORD)
    clarify = analyst.get_by_text("Message d'éclaircissement à l'usager", exact=True)

    async def clarification_offered():
        await analyst.goto(f"{gateway}/admin/traitements/{code}")
        return await clarify.count() > 0

    await eventually(clarification_offered, interval=0.3)
    assert COMMENT in await analyst.locator("main").inner_text()
    await _clean(analyst)

    # « Insatisfaits », the comment beside the opinion.
    await follow_menu(focal, "Insatisfaits")
    await expect(
        focal.get_by_role("heading", name="Liste des requêtes traitées Insatisfaites")
    ).to_be_visible()
    row = focal.locator("table tbody tr", has_text=code)
    await _until_shown(focal, row)
    await expect(row).to_contain_text(f"Non satisfait : {COMMENT}")
    await _clean(focal, narrow=True)

    # The dashboard's counters moved.
    async def counted():
        await focal.goto(gateway + "/admin/")
        return await _card(focal, "Avis d'insatisfaction") == 1

    await eventually(counted, interval=0.3)
    assert await _card(focal, "Avis exprimés") == 1
    assert await _card(focal, "Avis attendus") == 0
    assert await _card(focal, "Réclamations traitées") == 1
    await _clean(focal, narrow=True)

    # « Répondre à l'usager » from « Insatisfaits »; the citizen reads it.
    await follow_menu(focal, "Insatisfaits")
    await (
        focal.locator("table tbody tr", has_text=code)
        .get_by_role("link", name=re.compile("Répondre"))
        .click()
    )
    await focal.get_by_role("heading", name="Répondre à l'usager").wait_for()
    replies = focal.locator("section[aria-labelledby=retours-titre]")
    await expect(replies).to_contain_text("Non satisfait")
    await expect(replies).to_contain_text(COMMENT)
    await _clean(focal, narrow=True)
    await focal.get_by_label("Message à l'usager").fill(AGAIN)
    await focal.get_by_label("Joindre un document").set_input_files(
        files=[{"name": "horaires.png", "mimeType": "image/png", "buffer": PNG}]
    )
    # « Editer » shows what the citizen will read, the document kept; then it is sent.
    await focal.get_by_role("button", name="Editer").click()
    preview = focal.locator("#apercu")
    await expect(preview).to_contain_text(AGAIN)
    await expect(preview).to_contain_text("Document joint : horaires.png")
    await _clean(focal, narrow=True)
    await focal.get_by_role("button", name="Répondre avec envoi de mail").click()
    await expect(focal.locator("#resultat")).to_contain_text("L'usager en est prévenu par email à")
    answers = focal.locator("section[aria-labelledby=reponses-titre]")
    await expect(answers.get_by_role("link", name="horaires.png")).to_be_visible()
    await _clean(focal, narrow=True)

    async def told_again():
        later = citizen.locator("ol.later-messages")
        return await later.count() > 0 and AGAIN in await later.inner_text()

    await _track_until(citizen, gateway, code, CITIZEN, told_again)
    assert await _status(citizen) == "Clôturée — Non satisfait"
    history = await citizen.locator("ol.history").inner_text()
    for said in (
        "Vous avez donné votre avis sur le service reçu : Non satisfait.",
        "Le ministère vous a envoyé un nouveau message.",
    ):
        assert said in history, (said, history)
    await _clean(citizen, narrow=True)
    later = citizen.locator("ol.later-messages")
    async with citizen.expect_download() as caught:
        await later.get_by_role("button", name=re.compile("Télécharger horaires.png")).click()
    download = await caught.value
    assert download.suggested_filename == "horaires.png"
    # The image as the platform keeps it: decoded and written again (its metadata dropped),
    # the same pixels.
    kept = Image.open(await download.path())
    assert (kept.format, kept.tobytes()) == ("PNG", Image.open(io.BytesIO(PNG)).tobytes())
    [again] = await _mail(smtp_server, CITIZEN, "un nouveau message au sujet de votre requête")
    assert AGAIN in await _text(again)


async def _second_request(stack: Stack, citizen: Page, focal: Page, smtp_server):
    gateway = stack.gateway
    code = await validated_reclamation(
        stack, email=SECOND, message="Mon remboursement de frais de mission n'est pas arrivé."
    )
    answers = [
        "Le virement est parti le 3 février.",
        "Le virement a été rejeté par votre banque : il repart ce jour.",
        "Le virement est arrivé sur votre compte, la banque le confirme.",
    ]
    reopenings = [
        "Rien n'est arrivé sur mon compte.",
        "Toujours rien, ma banque ne voit aucun virement.",
    ]
    await _open_from_en_cours(focal, gateway, code)
    await _answer(focal, answers[0], "Répondre avec envoi de mail")
    for reopening, answer, again in zip(reopenings, answers[:-1], answers[1:], strict=True):
        await _reopen(citizen, gateway, code, SECOND, answer, reopening)
        await _retreat(focal, gateway, code, reopening, answer, again)

    # Closed « Satisfait » after the third answer.
    async def last_answer():
        reading = citizen.locator("#answer-message")
        return await reading.count() > 0 and answers[-1] in await reading.inner_text()

    await _track_until(citizen, gateway, code, SECOND, last_answer)
    history = await citizen.locator("ol.history").inner_text()
    for reopening in reopenings:
        assert reopening in history
    relaunched = "Vous avez relancé la requête pour un nouveau traitement (retraitement)."
    assert history.count(relaunched) == 2, history
    await citizen.get_by_role(
        "link", name="DONNER NOTRE AVIS DE FIN OU RELANCER LA REQUETE SVP !"
    ).click()
    await citizen.get_by_role("radio", name="Satisfait", exact=True).check()
    await citizen.get_by_role("button", name="Donner mon avis").click()
    await expect(citizen.locator("#notice")).to_contain_text("Votre avis a été enregistré")
    await _clean(citizen, narrow=True)

    async def closed():
        return await _status(citizen) == "Clôturée — Satisfait"

    await _track_until(citizen, gateway, code, SECOND, closed)
    assert await citizen.get_by_role("button", name="Relancer").count() == 0
    await _clean(citizen, narrow=True)

    # The focal point's page of the closed request: its three answers, no form any more.
    await focal.goto(f"{gateway}/admin/requetes/{code}")
    answered = focal.locator("section[aria-labelledby=reponses-titre] ol.history > li")
    await expect(answered).to_have_count(3)
    await expect(focal.locator("section[aria-labelledby=retours-titre]")).to_contain_text(
        "Satisfait"
    )
    assert await focal.locator("form[action*='/repondre']").count() == 0
    await _clean(focal, narrow=True)
    treatment = stack.apps["treatment"].app[POOL]
    assert (
        await treatment.fetchval(
            "SELECT count(*) FROM answers JOIN treatments t USING (request_id) WHERE t.code = $1",
            code,
        )
        == 3
    )
    mails = await _mail(smtp_server, SECOND, "a été traitée", count=3)
    texts = [await _text(m) for m in mails]
    assert all(any(a in t for t in texts) for a in answers), texts
    received = await _mail(smtp_server, SECOND, "nouveau traitement a été reçue", count=2)
    assert len(received) == 2

    # « Consultations › Satisfaits » lists it, « Réclamations » with the citizen's return.
    await follow_menu(focal, "Consultations")
    tabs = focal.get_by_role("navigation", name="Listes des consultations")
    await tabs.get_by_role("link", name="Satisfaits").click()
    await expect(
        focal.get_by_role("heading", name="Liste des requêtes traitées satisfaisantes")
    ).to_be_visible()
    row = focal.locator("table tbody tr", has_text=code)
    await _until_shown(focal, row)
    await expect(row).to_contain_text("Satisfait")
    await expect(row).to_contain_text(answers[-1])
    await _clean(focal, narrow=True)
    await tabs.get_by_role("link", name="Réclamations", exact=True).click()
    row = focal.locator("table tbody tr", has_text=code)
    await expect(row).to_contain_text("Réclamation recevable : merci de répondre à l'usager.")
    await expect(row).to_contain_text(answers[-1])
    await expect(row).to_contain_text("Satisfait")
    await expect(focal.locator("table tbody tr")).to_have_count(2)
    await _clean(focal, narrow=True)

    # Three answers and two reopenings are one request treated, one opinion given.
    async def counted():
        await focal.goto(gateway + "/admin/")
        return await _card(focal, "Avis exprimés") == 2

    await eventually(counted, interval=0.3)
    assert await _card(focal, "Réclamations traitées") == 2
    assert await _card(focal, "Avis d'insatisfaction") == 1
    assert await _card(focal, "Avis attendus") == 0
    assert await _card(focal, "Réclamations validées") == 2
    assert await _badge(focal) == "0"
    await _clean(focal, narrow=True)

    # The public « Statistiques »: the body's requests treated, its share of satisfied and of
    # answers given within their deadline (« Délais respectés »).
    await citizen.goto(gateway + "/statistiques")
    line = citizen.get_by_role("row").filter(
        has=citizen.get_by_role("rowheader", name=BODY_NAME, exact=True)
    )
    cells = [c.strip() for c in await line.get_by_role("cell").all_inner_texts()]
    assert cells[-4:] == ["2", "2", "50 %", "100 %"], cells
    await _clean(citizen, narrow=True)
