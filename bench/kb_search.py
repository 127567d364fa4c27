"""Knowledge-base search: p50/p99 per query on 50,000 articles, against a normalised substring scan.

50,000 articles are generated (seeded) half in Vietnamese, half in English, with a Zipf-like
word distribution as real text has (a few words in most articles, most words in few). Queries
are what customers and agents type: two or three words of an article's title, often without
diacritics, sometimes with a typo or the last word half typed. Contender: `ArticleIndex.search`
(knowledge_base.index: inverted postings, then rapidfuzz on a shortlist). Baseline, in the same
run on the same texts: the plainest search, every article's title and body normalised once up
front and scanned for the normalised query as a substring. Besides latency, both are scored on
whether the query's article is among the first 10 they return. Target: p99 ≤ 5 ms. Wall-clock
and CPU time are both reported: on a shared machine the wall clock includes waiting for a core.

Run: `.venv/bin/python bench/kb_search.py [--articles 50000] [--queries 2000] [--seed 5]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import cpu_model

from knowledge_base.index import ArticleIndex, Audience
from knowledge_base.model import Article, ArticleDraft, ArticleStatus, normalise

VIETNAMESE = (  # noqa: SIM905 (a paragraph reads better than 170 quoted words)
    "hóa đơn điện tử thanh toán cước phí tháng gói dịch vụ mạng internet truyền hình tài khoản mật khẩu "
    "đăng nhập đổi địa chỉ giao hàng đơn hàng hoàn tiền hủy khuyến mãi tích điểm thẻ ngân hàng ví "
    "chuyển khoản kỹ thuật viên lắp đặt bảo hành sửa chữa modem wifi tín hiệu chậm mất kết nối tổng đài "
    "khiếu nại hợp đồng gia hạn tạm ngưng chuyển nhượng số điện thoại sim nạp tiền tra cứu lịch sử giờ làm "
    "việc chi nhánh cửa hàng ứng dụng cập nhật thông tin cá nhân xác thực mã OTP quên hướng dẫn cách "
    "đăng ký nhanh miễn phí ưu đãi khách hàng thân thiết hạng vàng bạc kim cương phản hồi đánh giá chất "
    "lượng cuộc gọi tin nhắn dữ liệu di động chuyển vùng quốc tế thiết bị đầu thu camera an ninh điện "
    "nước học phí bảo hiểm xe máy vé máy bay đặt chỗ đổi lịch trả góp lãi suất"
).split()
ENGLISH = (  # noqa: SIM905
    "invoice bill payment monthly fee plan service network internet television account password sign in "
    "change address delivery order refund cancel promotion points card bank wallet transfer technician "
    "installation warranty repair modem wifi signal slow connection lost hotline complaint contract "
    "renew suspend transfer phone number sim top up lookup history opening hours branch store app update "
    "personal details verify code forgot guide how to register quick free offer loyal customer gold silver "
    "diamond feedback rating quality call message mobile data roaming international device receiver "
    "camera security electricity water tuition insurance motorbike flight ticket booking reschedule "
    "instalment interest rate parcel tracking courier return exchange size colour stock price discount"
).split()
CATEGORIES = ("billing", "technical", "account", "delivery", "other")
AT = datetime(2026, 12, 1, tzinfo=UTC)


def zipf_words(rng: random.Random, vocabulary: list[str], count: int) -> list[str]:
    """`count` words drawn with weight 1/rank: a few very common words, a long tail."""
    weights = [1.0 / (rank + 1) for rank in range(len(vocabulary))]
    return rng.choices(vocabulary, weights=weights, k=count)


def names(rng: random.Random, count: int) -> list[str]:
    """Product, plan and place names (\"Fibera\", \"Kovita\"): the words that tell articles apart."""
    syllables = [c + v for c in "bdghklmnprstvx" for v in ("a", "e", "i", "o", "u", "an", "en", "on")]
    return ["".join(rng.choices(syllables, k=rng.randint(2, 3))).capitalize() for _ in range(count)]


def generate(count: int, rng: random.Random) -> list[Article]:
    """Articles half Vietnamese, half English; each title names a product or plan among its words."""
    articles = []
    products = names(rng, 8_000)
    for article_id in range(1, count + 1):
        vocabulary = VIETNAMESE if article_id % 2 else ENGLISH
        shuffled = vocabulary[:]
        rng.shuffle(shuffled)
        title_words = rng.sample(vocabulary, rng.randint(3, 6))
        title_words.insert(rng.randrange(len(title_words) + 1), rng.choice(products))
        title = " ".join(title_words)
        body = " ".join(zipf_words(rng, shuffled, rng.randint(20, 60)))
        content = ArticleDraft.create(
            title=title,
            body=body,
            category=CATEGORIES[article_id % len(CATEGORIES)],
            language="vi" if article_id % 2 else "en",
        )
        views = int(rng.paretovariate(1.2)) - 1
        articles.append(Article(article_id, 1, content, ArticleStatus.PUBLISHED, views, AT, AT, AT))
    return articles


def strip_marks(text: str) -> str:
    """What a customer without a Vietnamese keyboard types."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return bare.replace("đ", "d").replace("Đ", "D")


def typo(word: str, rng: random.Random) -> str:
    """Two neighbouring letters swapped."""
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def make_queries(articles: list[Article], count: int, rng: random.Random) -> list[tuple[str, int, str]]:
    """(query, the article it was taken from, its kind)."""
    queries = []
    for n in range(count):
        target = rng.choice(articles)
        title_words = target.title.split()
        width = rng.randint(2, 3)
        start = rng.randrange(0, len(title_words) - width + 1)
        chosen = title_words[start : start + width]
        kind = ("exact", "no diacritics", "typo", "half typed")[n % 4]
        if kind != "exact":
            chosen = [strip_marks(w) for w in chosen]
        if kind == "typo":
            longest = max(range(len(chosen)), key=lambda i: len(chosen[i]))
            chosen[longest] = typo(chosen[longest], rng)
        if kind == "half typed" and len(chosen[-1]) >= 4:
            chosen[-1] = chosen[-1][: max(2, len(chosen[-1]) // 2 + 1)]
        queries.append((" ".join(chosen), target.id, kind))
    return queries


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    """Build both, time every query on both, print the table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    articles = generate(args.articles, rng)
    queries = make_queries(articles, args.queries, rng)

    started = time.perf_counter()
    index = ArticleIndex()
    index.replace_all(articles)
    index_build_s = time.perf_counter() - started
    started = time.perf_counter()
    texts = [(a.id, normalise(f"{a.title} {a.content.body}")) for a in articles]
    scan_build_s = time.perf_counter() - started

    def by_index(query: str) -> list[int]:
        return [h.article_id for h in index.search(query, Audience.CUSTOMER, limit=10)]

    def by_scan(query: str) -> list[int]:
        needle = normalise(query)
        return [article_id for article_id, text in texts if needle in text][:10] if needle else []

    for query, _, _ in queries[:50]:
        by_index(query)
        by_scan(query)
    timings: dict[str, list[float]] = {"index": [], "scan": []}
    # CPU time of this thread too: on a shared machine the wall clock also counts time spent
    # waiting for a core, which says more about the neighbours than about the search.
    cpu_timings: dict[str, list[float]] = {"index": [], "scan": []}
    found: dict[str, int] = {"index": 0, "scan": 0}
    found_by_kind: dict[tuple[str, str], int] = {}
    for query, target, kind in queries:
        for name, search in (("index", by_index), ("scan", by_scan)):
            started, cpu_started = time.perf_counter(), time.thread_time()
            ids = search(query)
            timings[name].append((time.perf_counter() - started) * 1000)
            cpu_timings[name].append((time.thread_time() - cpu_started) * 1000)
            if target in ids:
                found[name] += 1
                found_by_kind[(name, kind)] = found_by_kind.get((name, kind), 0) + 1

    machine = f"nproc {len(os.sched_getaffinity(0))}, {cpu_model()}, Python {platform.python_version()}, {platform.system()} {platform.machine()}"
    print(
        f"<!-- {datetime.now(UTC):%Y-%m-%d}; {args.articles} articles (half vi, half en), {args.queries} queries, "
        f"seed {args.seed}; index built in {index_build_s:.1f} s, scan texts in {scan_build_s:.1f} s; "
        f"load average {os.getloadavg()[0]:.1f} at the end; {machine} -->"
    )
    print("| figure | ArticleIndex.search | normalised substring scan | ratio (scan / index) |")
    print("|---|---:|---:|---:|")
    for label, p in (("p50 per query", 50), ("p90 per query", 90), ("p99 per query (target ≤ 5 ms)", 99)):
        ours, base = percentile(timings["index"], p), percentile(timings["scan"], p)
        print(f"| {label} | {ours:.2f} ms | {base:.2f} ms | **{base / ours:.1f}×** |")
    for label, p in (("p50 CPU per query", 50), ("p99 CPU per query", 99)):
        ours, base = percentile(cpu_timings["index"], p), percentile(cpu_timings["scan"], p)
        print(f"| {label} | {ours:.2f} ms | {base:.2f} ms | **{base / ours:.1f}×** |")
    ours, base = max(timings["index"]), max(timings["scan"])
    print(f"| max per query | {ours:.2f} ms | {base:.2f} ms | {base / ours:.1f}× |")
    print(
        f"| mean per query | {statistics.fmean(timings['index']):.2f} ms | {statistics.fmean(timings['scan']):.2f} ms | |"
    )
    print(
        f"| query's article in the first 10 | {100 * found['index'] / len(queries):.1f}% | "
        f"{100 * found['scan'] / len(queries):.1f}% | |"
    )
    for kind in ("exact", "no diacritics", "typo", "half typed"):
        total = sum(1 for _, _, k in queries if k == kind)
        print(
            f"| … {kind} ({total}) | {100 * found_by_kind.get(('index', kind), 0) / total:.1f}% | "
            f"{100 * found_by_kind.get(('scan', kind), 0) / total:.1f}% | |"
        )


if __name__ == "__main__":
    main()
