"""The in-memory search index over published articles (pure: no I/O).

Text is normalised once, when an article is put in (knowledge_base.model.normalise). A query
then takes the fast path: each query word is resolved against the vocabulary (the word itself,
word prefixes for the last word being typed, close spellings for longer words), candidates come
from inverted postings (title words count more than body words), and only the best few dozen
are scored by rapidfuzz against their titles. The final rank is the match, plus a few points for
popularity (views), so the answer people read most wins among equally good matches.
"""

from __future__ import annotations

import bisect
import enum
import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from knowledge_base.model import Article, Visibility, normalise, words

MAX_QUERY_WORDS = 12
# A query word whose postings are larger than this is too common to find candidates with;
# it still counts in the score of the candidates the rarer words found.
CANDIDATE_POSTINGS_CAP = 4_000
FUZZY_SHORTLIST = 48
PREFIX_TERMS_CAP = 40
FUZZY_TERMS = 4
FUZZY_MIN_RATIO = 75.0
FUZZY_MIN_WORD_CHARS = 4
BODY_WORD_FACTOR = 0.7
PREFIX_FACTOR = 0.85
POPULARITY_POINTS = 8.0
MIN_COVERAGE = 0.5


class Audience(enum.Enum):
    """Who is searching: customers see public articles only, agents every published one."""

    CUSTOMER = "customer"
    AGENT = "agent"

    def may_read(self, visibility: Visibility) -> bool:
        """Whether this audience may read an article of `visibility`."""
        return self is Audience.AGENT or visibility is Visibility.PUBLIC


@dataclass(frozen=True, slots=True)
class ArticleHit:
    """One found article: what a pop, the portal or the IVR shows or plays, and how well it matched."""

    article_id: int
    title: str
    body: str
    category: str
    language: str
    visibility: Visibility
    sound_file: str | None
    views: int
    score: float


@dataclass(slots=True)
class _Entry:
    article: Article
    heading: str
    title_words: frozenset[str]
    all_words: frozenset[str]
    views: int


class ArticleIndex:
    """Published articles, searchable by fuzzy words; updated one article at a time."""

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self._entries: dict[int, _Entry] = {}
        self._postings: dict[str, set[int]] = {}
        self._title_postings: dict[str, set[int]] = {}
        self._vocabulary: list[str] = []
        self._by_initial: dict[str, set[str]] = {}
        self._by_category: dict[str, set[int]] = {}
        self._max_views = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._entries

    def replace_all(self, articles: Iterable[Article]) -> None:
        """Rebuild from scratch (start-up)."""
        self._clear()
        for article in articles:
            self.put(article)

    def put(self, article: Article) -> None:
        """Add or replace one article; a draft is taken out (only published articles are searchable)."""
        self.remove(article.id)
        if not article.is_live:
            return
        content = article.content
        heading = normalise(" ".join((content.title, *content.synonyms, *content.tags)))
        title_words = frozenset(words(heading))
        all_words = title_words | frozenset(words(normalise(content.body)))
        self._entries[article.id] = _Entry(article, heading, title_words, all_words, article.views)
        for word in all_words:
            postings = self._postings.get(word)
            if postings is None:
                postings = self._postings[word] = set()
                bisect.insort(self._vocabulary, word)
                self._by_initial.setdefault(word[0], set()).add(word)
            postings.add(article.id)
        for word in title_words:
            self._title_postings.setdefault(word, set()).add(article.id)
        self._by_category.setdefault(content.category, set()).add(article.id)
        self._max_views = max(self._max_views, article.views)

    def remove(self, article_id: int) -> None:
        """Take an article out (deleted or unpublished); unknown ids are ignored."""
        entry = self._entries.pop(article_id, None)
        if entry is None:
            return
        for word in entry.all_words:
            postings = self._postings[word]
            postings.discard(article_id)
            if not postings:
                del self._postings[word]
                del self._vocabulary[bisect.bisect_left(self._vocabulary, word)]
                self._by_initial[word[0]].discard(word)
        for word in entry.title_words:
            title_postings = self._title_postings[word]
            title_postings.discard(article_id)
            if not title_postings:
                del self._title_postings[word]
        self._by_category[entry.article.content.category].discard(article_id)

    def set_views(self, article_id: int, views: int) -> None:
        """Update an article's popularity (it was read again)."""
        entry = self._entries.get(article_id)
        if entry is not None:
            entry.views = views
            self._max_views = max(self._max_views, views)

    def top(self, category: str, audience: Audience, *, limit: int) -> list[ArticleHit]:
        """The most read articles of `category` this audience may read, most read first."""
        ids = self._by_category.get(category, ())
        readable = (e for e in map(self._entries.__getitem__, ids) if audience.may_read(_visibility(e)))
        best = heapq.nlargest(limit, readable, key=lambda e: (e.views, -e.article.id))
        return [_hit(e, 100.0 + self._popularity(e)) for e in best]

    def search(
        self, text: str, audience: Audience, *, category: str | None = None, limit: int = 10
    ) -> list[ArticleHit]:
        """Articles matching `text` best first, among those this audience may read (in `category`)."""
        query = normalise(text)
        query_words = list(dict.fromkeys(words(query)))[:MAX_QUERY_WORDS]
        if not query_words or limit <= 0:
            return []
        resolved = [self._resolve(w, last=i == len(query_words) - 1) for i, w in enumerate(query_words)]
        weights = [self._weight(terms) for terms in resolved]
        total_weight = sum(weights)
        coverage: dict[int, float] = {}
        rare = [
            i for i, terms in enumerate(resolved) if terms and self._size(terms) <= CANDIDATE_POSTINGS_CAP
        ]
        if rare:
            for i in rare:
                for article_id, quality in self._qualities(resolved[i]).items():
                    coverage[article_id] = coverage.get(article_id, 0.0) + weights[i] * quality
            common = [i for i in range(len(resolved)) if resolved[i] and i not in rare]
        else:
            # Every word is common: candidates are the articles holding all of them.
            present = [terms for terms in resolved if terms]
            if not present:
                return []
            sets = sorted((self._union(terms) for terms in present), key=len)
            candidates = set.intersection(*sets) if sets else set()
            coverage = dict.fromkeys(heapq.nlargest(CANDIDATE_POSTINGS_CAP, candidates), 0.0)
            common = [i for i in range(len(resolved)) if resolved[i]]
        for i in common:
            for article_id in coverage:
                coverage[article_id] += weights[i] * self._quality_in(self._entries[article_id], resolved[i])
        shortlist = heapq.nlargest(
            FUZZY_SHORTLIST,
            (
                (share, self._entries[article_id].views, article_id)
                for article_id, share in ((a, c / total_weight) for a, c in coverage.items())
                if share >= MIN_COVERAGE and self._admits(self._entries[article_id], audience, category)
            ),
        )
        if not shortlist:
            return []
        headings = {article_id: self._entries[article_id].heading for _, _, article_id in shortlist}
        ratios = {
            key: ratio
            for _, ratio, key in process.extract(query, headings, scorer=fuzz.token_set_ratio, limit=None)
        }
        scored = [
            (
                65.0 * share
                + 0.35 * ratios.get(article_id, 0.0)
                + self._popularity(self._entries[article_id]),
                article_id,
            )
            for share, _, article_id in shortlist
        ]
        best = heapq.nlargest(limit, scored)
        return [_hit(self._entries[article_id], round(score, 2)) for score, article_id in best]

    def _resolve(self, word: str, *, last: bool) -> dict[str, float]:
        """The vocabulary terms a query word stands for, each with how well it matches (0..1)."""
        terms: dict[str, float] = {}
        if word in self._postings:
            terms[word] = 1.0
        if last and len(word) >= 2 and not _is_cjk(word):
            start = bisect.bisect_left(self._vocabulary, word)
            for term in self._vocabulary[start : start + PREFIX_TERMS_CAP + 1]:
                if not term.startswith(word):
                    break
                terms.setdefault(term, PREFIX_FACTOR)
        if not terms and len(word) >= FUZZY_MIN_WORD_CHARS and not _is_cjk(word):
            near = process.extract(
                word,
                list(self._by_initial.get(word[0], ())),
                scorer=fuzz.ratio,
                score_cutoff=FUZZY_MIN_RATIO,
                limit=FUZZY_TERMS,
            )
            for term, ratio, _ in near:
                terms[term] = 0.9 * ratio / 100.0
        return terms

    def _size(self, terms: dict[str, float]) -> int:
        return sum(len(self._postings[t]) for t in terms)

    def _union(self, terms: dict[str, float]) -> set[int]:
        return set().union(*(self._postings[t] for t in terms))

    def _weight(self, terms: dict[str, float]) -> float:
        """Rarer words weigh more (inverse document frequency); an unknown word still counts."""
        count = len(self._entries) or 1
        df = min(self._size(terms), count) if terms else 0
        return math.log(1.0 + count / (1 + df)) + 0.1

    def _qualities(self, terms: dict[str, float]) -> dict[int, float]:
        best: dict[int, float] = {}
        for term, quality in terms.items():
            body_quality = quality * BODY_WORD_FACTOR
            for article_id in self._postings[term]:
                if best.get(article_id, 0.0) < body_quality:
                    best[article_id] = body_quality
            for article_id in self._title_postings.get(term, ()):
                if best[article_id] < quality:
                    best[article_id] = quality
        return best

    @staticmethod
    def _quality_in(entry: _Entry, terms: dict[str, float]) -> float:
        best = 0.0
        for term, quality in terms.items():
            if term in entry.title_words:
                best = max(best, quality)
            elif term in entry.all_words:
                best = max(best, quality * BODY_WORD_FACTOR)
        return best

    @staticmethod
    def _admits(entry: _Entry, audience: Audience, category: str | None) -> bool:
        content = entry.article.content
        return audience.may_read(content.visibility) and (category is None or content.category == category)

    def _popularity(self, entry: _Entry) -> float:
        if self._max_views <= 0:
            return 0.0
        return POPULARITY_POINTS * math.log1p(entry.views) / math.log1p(self._max_views)


def _visibility(entry: _Entry) -> Visibility:
    return entry.article.content.visibility


def _is_cjk(word: str) -> bool:
    return len(word) == 1 and not word.isascii()


def _hit(entry: _Entry, score: float) -> ArticleHit:
    content = entry.article.content
    return ArticleHit(
        article_id=entry.article.id,
        title=content.title,
        body=content.body,
        category=content.category,
        language=content.language,
        visibility=content.visibility,
        sound_file=content.sound_file,
        views=entry.views,
        score=score,
    )
