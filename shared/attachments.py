"""Citizens' attachments: what is accepted, recognised by content, and a safe name to keep.

Shared by the gateway (which stops streaming a part past its limit and skips a wrong type early)
and intake (which owns the files and checks them again before storing). A file's type is judged
by its first bytes only — never by its name or the type the browser declared — and then by its
whole content (:func:`inspect`, in intake): a PDF is opened with pikepdf and refused when it holds
JavaScript, a launch action or an embedded file, or cannot be read; an image is decoded and
re-encoded with Pillow (its metadata dropped, its pixel count capped against decompression bombs),
and only the re-encoded bytes are kept.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

MAX_BYTES = 5 * 1024 * 1024  # « dont la taille ne dépasse pas 5 Mo »
MAX_FILES = 3
# Enough to recognise every accepted type.
HEAD_BYTES = 8

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png"}
_MAGIC = (
    (b"%PDF-", PDF),
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
)
FALLBACK_NAME = "piece-jointe"
NAME_MAX = 120
# An image of more pixels is refused before it is decoded (a few Ko of PNG can unpack to
# gigabytes): 40 million is a 48-megapixel phone's binned photo and then some.
MAX_PIXELS = 40_000_000


def sniff(head: bytes) -> str | None:
    """The content type of a file that starts with ``head``, or None when it is not accepted."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    return None


# Path separators, controls, quotes and characters that mean something to a shell or a header.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|;%`$\u200b-\u200f\u202a-\u202e\u2066-\u2069]+')


def safe_filename(name: str, content_type: str) -> str:
    """A name fit to show and to offer for download: the last path segment, without control or
    separator characters, at most ``NAME_MAX`` characters, ending with the extension of the
    content actually found (so that a PNG named ``x.html`` is saved as ``x.png``)."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]  # browsers on Windows used to send C:\fakepath\x.pdf
    name = _UNSAFE.sub("_", name).strip(" ._")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem.strip(" ._") or FALLBACK_NAME
    extension = EXTENSIONS.get(content_type, "")
    return stem[: NAME_MAX - len(extension)] + extension


def content_disposition(filename: str, content_type: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 one (RFC 6266 / 8187): the
    download header of a stored file (intake's attachments, treatment's documents)."""
    safe = safe_filename(filename, content_type)
    ascii_name = safe.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(safe, safe='')}"


def download_headers(filename: str, content_type: str) -> dict[str, str]:
    """The headers a stored file is served with (intake's attachments, treatment's documents):
    its type, a download under a safe name, never sniffed nor run (a sandbox without any
    source), and kept by no cache."""
    return {
        "Content-Type": content_type,
        "Content-Disposition": content_disposition(filename, content_type),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }


def shown_name(name: str) -> str:
    """The file's name as the citizen knows it, for messages: last path segment, no controls."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]+", "", name).strip()
    return name[:NAME_MAX] or "sans nom"


# A name that tries to climb out of a folder or carries line breaks or other controls.
_HOSTILE_NAME = re.compile(r"(^|[/\\])\.\.([/\\]|$)|[\x00-\x1f\x7f]")


def hostile_name(name: str) -> bool:
    """Whether the name holds a ``..`` path segment or a control character (CR, LF, NUL…): such a
    file is refused rather than silently renamed, so the citizen knows what happened to it."""
    return bool(_HOSTILE_NAME.search(name or ""))


def problem(code: str, name: str) -> str:
    """The French sentence shown beside the file input for a refused file."""
    shown = f"« {shown_name(name)} »"
    messages = {
        TOO_LARGE: f"Le fichier {shown} dépasse 5 Mo.",
        NOT_ALLOWED: f"Le fichier {shown} n'est ni un document PDF ni une image JPEG ou PNG.",
        TOO_MANY: f"Vous pouvez joindre {MAX_FILES} fichiers au plus : {shown} n'a pas été ajouté.",
        EMPTY: f"Le fichier {shown} est vide.",
        LOST: f"Le fichier {shown} n'a pas pu être gardé : joignez-le à nouveau.",
        INTERRUPTED: f"L'envoi du fichier {shown} s'est interrompu : votre connexion a été "
        "coupée ou n'a plus rien transmis. Rien n'en a été gardé : joignez-le à nouveau.",
        BAD_NAME: f"Le nom du fichier {shown} contient « .. » ou des caractères de contrôle "
        "(retour à la ligne…) : renommez-le puis joignez-le à nouveau.",
        PDF_JAVASCRIPT: f"Le document {shown} contient du JavaScript : il a été refusé. "
        "Enregistrez-le ou imprimez-le en PDF sans script puis joignez-le à nouveau.",
        PDF_LAUNCH: f"Le document {shown} contient une action qui lance un programme : "
        "il a été refusé.",
        PDF_EMBEDDED: f"Le document {shown} contient des fichiers joints à l'intérieur : il a été "
        "refusé. Joignez chaque document séparément.",
        PDF_UNREADABLE: f"Le document {shown} n'a pas pu être lu comme un PDF (endommagé ou "
        "protégé par un mot de passe) : il a été refusé.",
        IMAGE_UNREADABLE: f"L'image {shown} n'a pas pu être lue (endommagée ou incomplète) : "
        "elle a été refusée.",
        IMAGE_TOO_BIG: f"L'image {shown} a trop de pixels (plus de {MAX_PIXELS // 1_000_000} "
        "millions) : réduisez-la puis joignez-la à nouveau.",
    }
    return messages[code]


# Why a file was refused (the ``code`` of the field error).
TOO_LARGE = "file_too_large"
NOT_ALLOWED = "file_type_not_allowed"
TOO_MANY = "too_many_files"
EMPTY = "file_empty"
LOST = "file_lost"
# The citizen's connection stalled or broke while the file was coming (not a fault of ours).
INTERRUPTED = "file_interrupted"
# The name holds ``..`` as a path segment or a control character.
BAD_NAME = "file_name_not_allowed"
# What the content inspection finds (:func:`inspect`).
PDF_JAVASCRIPT = "pdf_javascript"
PDF_LAUNCH = "pdf_launch_action"
PDF_EMBEDDED = "pdf_embedded_file"
PDF_UNREADABLE = "pdf_unreadable"
IMAGE_UNREADABLE = "image_unreadable"
IMAGE_TOO_BIG = "image_too_many_pixels"
# Every reason :func:`inspect` may give, for the documentation of an API that uploads a file.
INSPECTION_REFUSALS = (
    BAD_NAME,
    EMPTY,
    TOO_LARGE,
    NOT_ALLOWED,
    PDF_JAVASCRIPT,
    PDF_LAUNCH,
    PDF_EMBEDDED,
    PDF_UNREADABLE,
    IMAGE_UNREADABLE,
    IMAGE_TOO_BIG,
)


class Refused(Exception):
    """A file refused: ``code`` says why (one of the codes above), :func:`problem` in French."""

    def __init__(self, code: str, name: str) -> None:
        super().__init__(code)
        self.code = code
        self.name = name
        self.message = problem(code, name)


@dataclass(frozen=True)
class Inspected:
    """A file accepted: its type found in its bytes, and the bytes to keep (an image's
    re-encoded ones)."""

    content_type: str
    data: bytes


def inspect(name: str, data: bytes) -> Inspected:
    """Judge a whole file by its name and content; raises :class:`Refused`.

    CPU-bound (Pillow decodes the image): call it in a thread (``asyncio.to_thread``)."""
    if hostile_name(name):
        raise Refused(BAD_NAME, name)
    if not data:
        raise Refused(EMPTY, name)
    if len(data) > MAX_BYTES:
        raise Refused(TOO_LARGE, name)
    content_type = sniff(data[:HEAD_BYTES])
    if content_type is None:
        raise Refused(NOT_ALLOWED, name)
    if content_type == PDF:
        found = pdf_danger(data)
        if found is not None:
            raise Refused(found, name)
        return Inspected(PDF, data)
    return Inspected(content_type, _reencoded(name, data, content_type))


# -- PDF ---------------------------------------------------------------------------------------

# What each key or name means when found anywhere in the document's objects.
_JS_KEYS = ("/JS", "/JavaScript")
_EMBEDDED_KEYS = ("/EmbeddedFiles", "/EF")


def pdf_danger(data: bytes) -> str | None:
    """The refusal code of a PDF that holds JavaScript, a launch action or an embedded file, or
    that pikepdf cannot open; None for a plain document.

    Every object of the file is walked — indirect ones and the dictionaries and arrays written
    inside them — so an action or a file specification is found wherever it hides (the names
    tree, ``/OpenAction``, an annotation's ``/A`` or ``/AA``, a form field)."""
    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            found: set[str] = set()
            for obj in pdf.objects:
                _walk(obj, found)
            _walk(pdf.trailer, found)
    except (pikepdf.PdfError, pikepdf.PasswordError, ValueError, RecursionError):
        return PDF_UNREADABLE
    for code in (PDF_JAVASCRIPT, PDF_LAUNCH, PDF_EMBEDDED):
        if code in found:
            return code
    return None


def _walk(obj: object, found: set[str]) -> None:
    """Look through ``obj`` and what is written inside it; references to other indirect objects
    are not followed (each is walked from ``pdf.objects``), so no cycle can loop."""
    import pikepdf

    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, pikepdf.Stream):
            item = item.stream_dict
        if isinstance(item, pikepdf.Dictionary):
            keys = set(item.keys())
            if keys.intersection(_JS_KEYS):
                found.add(PDF_JAVASCRIPT)
            if keys.intersection(_EMBEDDED_KEYS):
                found.add(PDF_EMBEDDED)
            kind = item.get("/S")
            if kind == pikepdf.Name.JavaScript:
                found.add(PDF_JAVASCRIPT)
            elif kind == pikepdf.Name.Launch:
                found.add(PDF_LAUNCH)
            if item.get("/Subtype") == pikepdf.Name.FileAttachment:
                found.add(PDF_EMBEDDED)
            for key in keys:
                child = item.get(key)
                # Indirect objects are walked on their own, from ``pdf.objects``.
                if isinstance(child, pikepdf.Dictionary | pikepdf.Array) and not child.is_indirect:
                    stack.append(child)
        elif isinstance(item, pikepdf.Array):
            for child in item:
                if isinstance(child, pikepdf.Dictionary | pikepdf.Array) and not child.is_indirect:
                    stack.append(child)


# -- images ------------------------------------------------------------------------------------


def _reencoded(name: str, data: bytes, content_type: str) -> bytes:
    """The image decoded and written again in its own format, without its metadata (EXIF with
    the place it was taken, comments, ICC profile aside) and without anything hidden after or
    between its chunks; the orientation the camera recorded applied to the pixels."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    fmt = "JPEG" if content_type == JPEG else "PNG"
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise Refused(IMAGE_TOO_BIG, name)
            image.load()
            icc = image.info.get("icc_profile")
            image = ImageOps.exif_transpose(image) or image
            out = io.BytesIO()
            if fmt == "JPEG":
                if image.mode not in ("L", "RGB", "CMYK"):
                    image = image.convert("RGB")
                image.save(out, "JPEG", quality=90, icc_profile=icc)
            else:
                image.save(out, "PNG", icc_profile=icc)
            return out.getvalue()
    except Refused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        raise Refused(IMAGE_UNREADABLE, name) from None
