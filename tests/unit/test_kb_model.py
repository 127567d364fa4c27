"""Articles and text normalisation: validation lists every problem; normalising folds case and marks."""

from __future__ import annotations

import pytest

from knowledge_base.errors import InvalidArticleError
from knowledge_base.model import ArticleDraft, Visibility, normalise, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hóa ĐƠN điện tử", "hoa don dien tu"),
        ("  Đổi   mật-khẩu!!  ", "doi mat khau"),
        ("Thanh toán qua Ví MoMo?", "thanh toan qua vi momo"),
        ("Nguyễn Thị Ánh", "nguyen thi anh"),
        ("RESET your Password", "reset your password"),
        ("ＡＢＣ１２３", "abc123"),  # full-width forms (NFKD)
        ("如何开发票", "如 何 开 发 票"),
        ("发票abc", "发 票 abc"),
        ("café_crème", "cafe creme"),
        ("", ""),
        ("?!.,", ""),
    ],
)
def test_normalise_folds_case_diacritics_and_width(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_chinese_characters_are_words_of_their_own() -> None:
    assert words(normalise("申请发票 invoice")) == ("申", "请", "发", "票", "invoice")


def test_a_valid_draft_is_cleaned() -> None:
    draft = ArticleDraft.create(
        title="  Cách   xuất hóa đơn ",
        body="Vào mục Hóa đơn.\r\nChọn xuất.\x07",
        category="billing",
        tags=["invoice", " invoice ", "", "hóa đơn"],
        synonyms=["xuat hoa don"],
        language="vi",
        visibility=Visibility.INTERNAL,
        sound_file="hotline/faq-invoice",
    )
    assert draft.title == "Cách xuất hóa đơn"
    assert draft.body == "Vào mục Hóa đơn.\nChọn xuất."
    assert draft.tags == ("invoice", "hóa đơn")
    assert draft.sound_file == "hotline/faq-invoice"


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(InvalidArticleError) as caught:
        ArticleDraft.create(
            title=" ",
            body="",
            category="Billing Dept",
            tags=["x" * 41],
            synonyms=[f"s{i}" for i in range(21)],
            language="vietnamese",
            sound_file="../etc/passwd",
        )
    assert set(caught.value.problems) == {
        "title",
        "body",
        "category",
        "tags",
        "synonyms",
        "language",
        "sound_file",
    }


@pytest.mark.parametrize(
    "sound_file",
    ["faq\r\nEXEC System", "faq invoice", "faq.wav", "/abs/path", "a/../b", "x" * 121, ""],
)
def test_sound_files_that_could_inject_or_escape_are_refused(sound_file: str) -> None:
    with pytest.raises(InvalidArticleError) as caught:
        ArticleDraft.create(title="t", body="b", category="billing", sound_file=sound_file)
    assert set(caught.value.problems) == {"sound_file"}


def test_overlong_title_and_body_are_refused() -> None:
    with pytest.raises(InvalidArticleError) as caught:
        ArticleDraft.create(title="t" * 201, body="b" * 20_001, category="billing")
    assert caught.value.problems == {"title": "at most 200 characters", "body": "at most 20000 characters"}
