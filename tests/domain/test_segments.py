import pytest

from textdesk.domain.segments import Encoding, count_segments


@pytest.mark.parametrize(("text", "encoding", "segments"), [
    ("a" * 160, Encoding.GSM7, 1),
    ("a" * 161, Encoding.GSM7, 2),
    ("a" * 306, Encoding.GSM7, 2),
    ("a" * 307, Encoding.GSM7, 3),
    ("€" * 80, Encoding.GSM7, 1),  # two septets each: exactly 160
    ("€" * 81, Encoding.GSM7, 2),
    ("^" * 80 + "a", Encoding.GSM7, 2),
    ("Hi 😀", Encoding.UCS2, 1),
    ("a" * 70 + "é", Encoding.GSM7, 1),  # é is in the GSM basic set
    ("a" * 69 + "ç", Encoding.UCS2, 1),  # ç (lower case) is not
    ("a" * 70 + "ç", Encoding.UCS2, 2),
    ("😀" * 35, Encoding.UCS2, 1),  # each emoji is two UTF-16 units: 70
    ("😀" * 36, Encoding.UCS2, 2),
    ("", Encoding.GSM7, 0),
])
def test_segments(text: str, encoding: Encoding, segments: int) -> None:
    info = count_segments(text)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_euro_and_caret_cost_two_septets() -> None:
    assert count_segments("€").units == 2
    assert count_segments("^").units == 2
    assert count_segments("a").units == 1


def test_one_emoji_makes_the_whole_text_ucs2() -> None:
    assert count_segments("a" * 100 + "🙂").encoding is Encoding.UCS2
    assert count_segments("a" * 100 + "🙂").segments == 2
