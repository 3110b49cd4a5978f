"""Citizens' attachments: what is accepted, recognised by content, and a safe name to keep.

Shared by the gateway (which stops streaming a part past its limit and skips a wrong type early)
and intake (which owns the files and checks them again before storing). A file is judged by its
first bytes only — never by its name or the type the browser declared.
"""

from __future__ import annotations

import re
import unicodedata
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


def shown_name(name: str) -> str:
    """The file's name as the citizen knows it, for messages: last path segment, no controls."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]+", "", name).strip()
    return name[:NAME_MAX] or "sans nom"


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
