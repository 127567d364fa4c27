"""Articles of the knowledge base and the text normalisation search relies on (pure: no I/O).

An article is a question customers or agents ask and its answer. Customers (portal, IVR) see
only published public articles; agents also see internal ones. Drafts are seen only on the
editing page. Text is normalised once, when an article enters the search index: lower case,
no diacritics (Vietnamese "hóa đơn" is "hoa don"), width and compatibility forms folded
(NFKD), and every Chinese or Japanese character a word of its own, so those are matched by
characters.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from knowledge_base.errors import InvalidArticleError

MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 20_000
MAX_TERMS = 20
MAX_TAG_CHARS = 40
MAX_SYNONYM_CHARS = 100
_CATEGORY = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")
# An Asterisk sound file name as Playback() takes it: no extension, no "..", no spaces or CR/LF.
_SOUND_FILE = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+){0,4}")
MAX_SOUND_FILE_CHARS = 120
# Han ideographs (with extension A and compatibility forms) and kana: each one is a word.
_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
_NOT_WORD = re.compile(r"[\W_]+")
# Letters NFKD does not decompose into a base letter and a mark.
_FOLD = str.maketrans({"đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "ß": "ss"})


class Visibility(enum.Enum):
    """Who may read an article: everyone (portal, IVR) or only agents."""

    PUBLIC = "public"
    INTERNAL = "internal"


class ArticleStatus(enum.Enum):
    """A draft is being written or reviewed; a published article is searchable."""

    DRAFT = "draft"
    PUBLISHED = "published"


@dataclass(frozen=True, slots=True)
class ArticleDraft:
    """The editable content of an article, validated; build it with `ArticleDraft.create`."""

    title: str
    body: str
    category: str
    tags: tuple[str, ...]
    synonyms: tuple[str, ...]
    language: str
    visibility: Visibility
    sound_file: str | None

    @classmethod
    def create(
        cls,
        *,
        title: str,
        body: str,
        category: str,
        tags: Iterable[str] = (),
        synonyms: Iterable[str] = (),
        language: str = "vi",
        visibility: Visibility = Visibility.PUBLIC,
        sound_file: str | None = None,
    ) -> ArticleDraft:
        """Validate every field at once; InvalidArticleError lists each problem."""
        problems: dict[str, str] = {}
        clean_title = " ".join(unicodedata.normalize("NFC", title).split())
        if not clean_title:
            problems["title"] = "required"
        elif len(clean_title) > MAX_TITLE_CHARS:
            problems["title"] = f"at most {MAX_TITLE_CHARS} characters"
        clean_body = clean_text(body)
        if not clean_body:
            problems["body"] = "required: the answer customers or agents read"
        elif len(clean_body) > MAX_BODY_CHARS:
            problems["body"] = f"at most {MAX_BODY_CHARS} characters"
        if not _CATEGORY.fullmatch(category):
            problems["category"] = "1 to 40 lower-case letters, digits, '-' or '_' (e.g. billing)"
        clean_tags = _terms(tags, "tags", MAX_TAG_CHARS, problems)
        clean_synonyms = _terms(synonyms, "synonyms", MAX_SYNONYM_CHARS, problems)
        if not _LANGUAGE.fullmatch(language):
            problems["language"] = "a language code such as vi, en or zh-CN"
        if sound_file is not None and (
            len(sound_file) > MAX_SOUND_FILE_CHARS or not _SOUND_FILE.fullmatch(sound_file)
        ):
            problems["sound_file"] = (
                "an Asterisk sound file name without extension: letters, digits, '-', '_' and '/' "
                f"(e.g. hotline/faq-invoice), at most {MAX_SOUND_FILE_CHARS} characters"
            )
        if problems:
            raise InvalidArticleError(problems)
        return cls(
            clean_title,
            clean_body,
            category,
            clean_tags,
            clean_synonyms,
            language,
            visibility,
            sound_file,
        )


def _terms(values: Iterable[str], field: str, max_chars: int, problems: dict[str, str]) -> tuple[str, ...]:
    cleaned: list[str] = []
    for value in values:
        term = " ".join(unicodedata.normalize("NFC", value).split())
        if not term:
            continue
        if len(term) > max_chars:
            problems[field] = f"each at most {max_chars} characters"
        elif term not in cleaned:
            cleaned.append(term)
    if len(cleaned) > MAX_TERMS:
        problems[field] = f"at most {MAX_TERMS}"
    return tuple(cleaned)


@dataclass(frozen=True, slots=True)
class Article:
    """An article as stored, with who may read it, whether it is live and how often it was read."""

    id: int
    version: int
    content: ArticleDraft
    status: ArticleStatus
    views: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @property
    def title(self) -> str:
        """The question or headline."""
        return self.content.title

    @property
    def is_live(self) -> bool:
        """Searchable (published); whether customers see it also depends on its visibility."""
        return self.status is ArticleStatus.PUBLISHED

    @property
    def is_public_live(self) -> bool:
        """What customers (portal, IVR) may read."""
        return self.is_live and self.content.visibility is Visibility.PUBLIC


def clean_text(text: str) -> str:
    """Free text as stored: NFC, no control characters but newlines and tabs, trimmed."""
    normal = unicodedata.normalize("NFC", text).replace("\r\n", "\n")
    return "".join(c for c in normal if c in "\n\t" or unicodedata.category(c) != "Cc").strip()


def normalise(text: str) -> str:
    """Text as the index compares it: case-folded, no diacritics, words separated by one space.

    "Hóa ĐƠN điện tử" -> "hoa don dien tu"; "如何开发票" -> "如 何 开 发 票".
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().translate(_FOLD)
    return " ".join(_NOT_WORD.sub(" ", _CJK.sub(r" \1 ", bare)).split())


def words(normalised: str) -> tuple[str, ...]:
    """The words of normalised text (a Chinese character is a word)."""
    return tuple(normalised.split())
