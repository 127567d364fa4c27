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
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from knowledge_base.model import Article, Visibility, normalise, words

MAX_QUERY_WORDS = 12
# At most this many articles are scored per query: the fast path's bound on work.
CANDIDATES_CAP = 600
PREFIX_MIN_CHARS = 3
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
        self._internal: set[int] = set()
        self._max_views = 0
        # Every pop and the portal's front page ask for the same few lists between two changes.
        self._top_lists: dict[tuple[str, Audience, int], list[ArticleHit]] = {}

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
        self._top_lists.clear()
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
        if content.visibility is Visibility.INTERNAL:
            self._internal.add(article.id)
        self._max_views = max(self._max_views, article.views)

    def remove(self, article_id: int) -> None:
        """Take an article out (deleted or unpublished); unknown ids are ignored."""
        entry = self._entries.pop(article_id, None)
        if entry is None:
            return
        self._top_lists.clear()
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
        self._internal.discard(article_id)

    def set_views(self, article_id: int, views: int) -> None:
        """Update an article's popularity (it was read again)."""
        entry = self._entries.get(article_id)
        if entry is not None:
            entry.views = views
            self._max_views = max(self._max_views, views)
            self._top_lists.clear()

    def top(self, category: str, audience: Audience, *, limit: int) -> list[ArticleHit]:
        """The most read articles of `category` this audience may read, most read first."""
        ids = self._by_category.get(category)
        if not ids:
            return []
        key = (category, audience, limit)
        cached = self._top_lists.get(key)
        if cached is None:
            readable = (e for e in map(self._entries.__getitem__, ids) if audience.may_read(_visibility(e)))
            best = heapq.nlargest(limit, readable, key=lambda e: (e.views, -e.article.id))
            cached = self._top_lists[key] = [_hit(e, 100.0 + self._popularity(e.views)) for e in best]
        return list(cached)

    def search(
        self, text: str, audience: Audience, *, category: str | None = None, limit: int = 10
    ) -> list[ArticleHit]:
        """Articles matching `text` best first, among those this audience may read (in `category`)."""
        query = normalise(text)
        query_words = list(dict.fromkeys(words(query)))[:MAX_QUERY_WORDS]
        if not query_words or limit <= 0:
            return []
        resolved = [self._resolve(w, last=i == len(query_words) - 1) for i, w in enumerate(query_words)]
        holders = [self._union(terms, self._postings) for terms in resolved]
        weights = [self._weight(len(found)) for found in holders]
        total_weight = sum(weights)
        hidden = self._internal if audience is Audience.CUSTOMER else set()
        allowed = self._by_category.get(category, set()) if category is not None else None
        candidates, hold_every_word = self._candidates(resolved, holders, hidden, allowed)
        coverage = dict.fromkeys(candidates, 0.0)
        for terms, weight in zip(resolved, weights, strict=True):
            self._cover(coverage, candidates, terms, weight, held=hold_every_word)
        # The best FUZZY_SHORTLIST by (coverage, views, id) among those covering enough: every one
        # covering more than the FUZZY_SHORTLIST-th best value, then the ties at that value.
        least = MIN_COVERAGE * total_weight
        if len(coverage) > FUZZY_SHORTLIST:
            least = max(least, sorted(coverage.values(), reverse=True)[FUZZY_SHORTLIST - 1])
        entries = self._entries
        shortlist = [
            (covered / total_weight, views, article_id)
            for covered, views, article_id in sorted(
                ((c, entries[a].views, a) for a, c in coverage.items() if c >= least), reverse=True
            )[:FUZZY_SHORTLIST]
        ]
        if not shortlist:
            return []
        headings = {article_id: entries[article_id].heading for _, _, article_id in shortlist}
        ratios = {
            key: ratio
            for _, ratio, key in process.extract(query, headings, scorer=fuzz.token_set_ratio, limit=None)
        }
        scored = [
            (65.0 * share + 0.35 * ratios.get(article_id, 0.0) + self._popularity(views), article_id)
            for share, views, article_id in shortlist
        ]
        best = heapq.nlargest(limit, scored)
        return [_hit(self._entries[article_id], round(score, 2)) for score, article_id in best]

    def _candidates(
        self,
        resolved: list[dict[str, float]],
        holders: list[set[int]],
        hidden: set[int],
        allowed: set[int] | None,
    ) -> tuple[set[int], bool]:
        """The articles worth scoring (not `hidden`, within `allowed`), at most CANDIDATES_CAP of them,
        and whether each of them holds every query word found in the index.

        Best first: articles holding every word in their title, then holding every word anywhere,
        then (a word misspelt beyond repair, or absent) those holding the rarer words.
        """
        present = sorted((h for h in holders if h), key=len)
        if not present:
            return set(), True
        everywhere = _within(set.intersection(*present) if len(present) > 1 else present[0], hidden, allowed)
        if len(everywhere) > CANDIDATES_CAP:
            titled = sorted((self._union(t, self._title_postings) for t in resolved if t), key=len)
            in_titles = set.intersection(*titled) & everywhere
            if len(in_titles) >= CANDIDATES_CAP:
                return set(itertools.islice(in_titles, CANDIDATES_CAP)), True
            more = set(itertools.islice(everywhere - in_titles, CANDIDATES_CAP - len(in_titles)))
            return in_titles | more, True
        chosen = set(everywhere)
        for found in present:
            if len(found) > CANDIDATES_CAP - len(chosen):
                break
            chosen |= found
        candidates = _within(chosen, hidden, allowed)
        # `chosen` holds `everywhere`, which is already within: the same size means nothing more.
        return candidates, len(candidates) == len(everywhere)

    def _resolve(self, word: str, *, last: bool) -> dict[str, float]:
        """The vocabulary terms a query word stands for, each with how well it matches (0..1)."""
        terms: dict[str, float] = {}
        if word in self._postings:
            terms[word] = 1.0
        if last and len(word) >= PREFIX_MIN_CHARS and not _is_cjk(word):
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

    @staticmethod
    def _union(terms: dict[str, float], postings: dict[str, set[int]]) -> set[int]:
        """The articles holding any of `terms` (the postings' own set when there is one: no copy)."""
        sets = [postings[t] for t in terms if t in postings]
        if len(sets) == 1:
            return sets[0]
        return set().union(*sets)

    def _weight(self, holders: int) -> float:
        """Rarer words weigh more (inverse document frequency); an unknown word still counts."""
        count = len(self._entries) or 1
        return math.log(1.0 + count / (1 + min(holders, count))) + 0.1

    def _cover(
        self,
        coverage: dict[int, float],
        candidates: set[int],
        terms: dict[str, float],
        weight: float,
        *,
        held: bool,
    ) -> None:
        """Add to each candidate's coverage how well it holds one query word, times the word's weight.

        How well: the best of the word's terms it holds, a term in its title counting fully and one
        only in its body less. Candidates are grouped by that quality first, best first, so each
        gets one addition per word, in C-built sets rather than a Python test per term. `held`:
        every candidate holds the word (in the index), so a word of one term needs no lookup for it.
        """
        found_at: dict[float, set[int]] = {}
        for term, quality in terms.items():
            in_title = self._title_postings.get(term)
            if in_title is not None:
                _gather(found_at, quality, in_title & candidates)
            in_body = candidates if held and len(terms) == 1 else self._postings[term] & candidates
            _gather(found_at, quality * BODY_WORD_FACTOR, in_body)
        counted: set[int] = set()
        for quality in sorted(found_at, reverse=True):
            found = found_at[quality] - counted
            share = weight * quality
            for article_id in found:
                coverage[article_id] += share
            counted |= found

    def _popularity(self, views: int) -> float:
        if self._max_views <= 0:
            return 0.0
        return POPULARITY_POINTS * math.log1p(views) / math.log1p(self._max_views)


def _gather(found_at: dict[float, set[int]], quality: float, found: set[int]) -> None:
    """Add `found` to the candidates holding a term of this quality."""
    known = found_at.get(quality)
    found_at[quality] = found if known is None else known | found


def _within(ids: set[int], hidden: set[int], allowed: set[int] | None) -> set[int]:
    """`ids` without the hidden ones and, if given, only the allowed ones (a new set)."""
    kept = ids & allowed if allowed is not None else set(ids)
    return kept - hidden if hidden else kept


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
