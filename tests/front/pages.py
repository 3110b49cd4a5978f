"""Driving the citizen pages in a real Chromium: the steps of « Soumettre une requête », the
screenshots kept as artifacts, and axe-core's verdict."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

from tests.browser import ARTIFACTS

SCREENSHOTS = ARTIFACTS / "screenshots"
WIDTHS = (360, 1280)
BUDGET = "ministere-budget"
BUDGET_NAME = "Ministère du budget et du Portefeuille de l'Etat"


def form_fields(token: str, **fields: str) -> aiohttp.FormData:
    """The submission form as the browser sends it (multipart), for the body BUDGET: its token,
    no draft yet, the terms accepted, and ``fields``."""
    form = aiohttp.FormData(default_to_multipart=True)
    base = {"csrf_token": token, "draft_id": "", "body_id": BUDGET, "nature": "reclamation"}
    for name, value in {**base, **fields, "terms_accepted": "on"}.items():
        form.add_field(name, value)
    return form


async def new_page(browser, *, width: int = 360, javascript: bool = True):
    context = await browser.new_context(
        locale="fr-FR", viewport={"width": width, "height": 800}, java_script_enabled=javascript
    )
    return context, await context.new_page()


async def screenshots(page, name: str) -> list[Path]:
    """The page as it is, at 360 px and at 1280 px wide (full height); back to the first width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    paths = []
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 800})
        path = SCREENSHOTS / f"{name}-{width}.png"
        await page.screenshot(path=path, full_page=True)
        paths.append(path)
    await page.set_viewport_size(original)
    return paths


async def no_horizontal_scroll(page) -> bool:
    """Nothing wider than the window (tables scroll inside their own region)."""
    return await page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


async def choose_nature_and_body(page, gateway: str, nature_label: str, search: str, body: str):
    """Steps 1 and 2: from the menu to the form of ``body``."""
    await page.goto(gateway + "/")
    await page.get_by_role("navigation").get_by_role("link", name="Soumettre une requête").click()
    await page.get_by_role("link", name=re.compile(f"^{nature_label}")).click()
    await page.get_by_label("Rechercher un organisme").fill(search)
    await page.get_by_role("button", name="Rechercher").click()
    await page.get_by_role("link", name=body, exact=True).click()
    await page.get_by_role("heading", name="Exprimez votre préoccupation").wait_for()


async def fill_form(
    page,
    *,
    message: str = "L'accueil est décevant, la file d'attente est longue.",
    last_name: str = "KOUASSI",
    first_names: str = "Aya",
    phone: str = "07 07 12 34 56",
    email: str = "aya.kouassi@example.ci",
    files: list[Path] | None = None,
    place: str | None = "abidjan-plateau",
    theme: str | None = "accueil-espace",
    terms: bool = True,
) -> None:
    if place:
        await page.get_by_label("Commune ou S/Préfecture").select_option(place)
    if theme:
        await page.get_by_label("Thème").select_option(theme)
    await page.get_by_label("Message").fill(message)
    if files:
        await page.get_by_label("Pièces jointes").set_input_files(files)
    await page.get_by_label("Nom", exact=True).fill(last_name)
    await page.get_by_label("Prénoms").fill(first_names)
    await page.get_by_label("Téléphone portable").fill(phone)
    await page.get_by_label("Email").fill(email)
    if terms:
        await page.get_by_label("J'accepte").check()


async def submit_form(page) -> None:
    await page.get_by_role("button", name="Soumettre votre requête").click()


# What the platform promises (WCAG 2.1, levels A and AA), then axe-core's best practices apart:
# a finding of the second kind is no breach of the standard, and the report says which it is.
AXE_RULE_SETS = {
    "WCAG 2.1 AA": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"],
    "bonne pratique": ["best-practice"],
}


async def axe_findings(page) -> list[str]:
    """axe-core's violations on the page as it is, at each of :data:`WIDTHS` (the page left at
    the width it had): one line each, with the width, the rule set, the rule, its impact and the
    elements (CSS selectors) it names."""
    from axe_playwright_python.async_playwright import Axe

    original = page.viewport_size
    found = []
    try:
        for width in WIDTHS:
            await page.set_viewport_size({"width": width, "height": 800})
            for rule_set, tags in AXE_RULE_SETS.items():
                options = {"runOnly": {"type": "tag", "values": tags}}
                results = await Axe().run(page, options=options)
                found += [
                    f"{page.url} à {width} px, {rule_set}: {v['id']} ({v['impact']}) "
                    + " ; ".join(" ".join(map(str, n["target"])) for n in v["nodes"])
                    for v in results.response["violations"]
                ]
    finally:
        await page.set_viewport_size(original)
    return found


async def unlinked_errors(page) -> list[str]:
    """Ids of the error messages shown beside a field (``p.error``) that no field names in its
    ``aria-describedby`` (a screen reader would not read them with the field); and "none" when
    the page shows no such message at all, so that an error state is really one."""
    return await page.evaluate(
        """() => {
            const errors = [...document.querySelectorAll('p.error[id]')].map(e => e.id);
            if (!errors.length) return ['none'];
            const named = new Set([...document.querySelectorAll('[aria-describedby]')]
                .flatMap(f => f.getAttribute('aria-describedby').split(/\\s+/)));
            return errors.filter(id => !named.has(id));
        }"""
    )
