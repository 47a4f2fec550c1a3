"""Unit tests for course_utils.data.curation."""

from collections import Counter

import pytest

from course_utils.data.curation import (
    DUPLICATE,
    EMPTY,
    Rule,
    curate,
    dedup_exact,
    duplicate_counts,
    fraction_matching,
    name_rules,
    normalise,
    simulate_scraped_names,
)


def test_normalise():
    assert normalise("  MARY ") == "mary"
    assert normalise("Anne\tMarie") == "anne marie"
    assert normalise("\uff2a\uff4f") == "jo"  # full-width letters (NFKC)
    assert normalise("   ") == ""
    with pytest.raises(ValueError, match="normalise expects text, got int"):
        normalise(3)


def test_dedup_keeps_first_occurrence_in_order():
    kept, removed = dedup_exact(["b", "a", "b", "c", "a", "b"])
    assert kept == ["b", "a", "c"] and removed == 3
    assert dedup_exact([]) == ([], 0)
    with pytest.raises(ValueError, match="single string"):
        dedup_exact("abc")
    with pytest.raises(ValueError, match="must be a string, got 1"):
        dedup_exact(["a", 1])


def test_duplicate_counts():
    assert duplicate_counts(["a", "b", "a", "c", "a", "b"]) == [("a", 3), ("b", 2)]
    assert duplicate_counts(["a", "b", "a", "b", "b"], top=1) == [("b", 3)]


def test_name_rules_catch_typical_noise():
    rules = {rule.name: rule for rule in name_rules()}
    assert list(rules) == ["letters_only", "too_short", "too_long", "no_vowel",
                           "consonant_run", "repeated_letter"]
    failing = {"john123": "letters_only", "x": "too_short", "abcdefghijklmnop": "too_long",
               "zxcv": "no_vowel", "asdfgh": "consonant_run", "aaaa": "repeated_letter"}
    for text, reason in failing.items():
        first = next(name for name, rule in rules.items() if not rule.keep(text))
        assert first == reason, text
    for good in ["mary", "ellsworth", "christopher", "anna", "yvonne"]:
        assert all(rule.keep(good) for rule in rules.values()), good
    with pytest.raises(ValueError, match="max_length must be >= 5"):
        name_rules(min_length=5, max_length=3)


def test_curate_counts_every_removal():
    raw = ["Mary", "mary", " MARY ", "john123", "x", "", "zxcv", "anna", "Anna", "bob"]
    kept, report = curate(raw)
    assert kept == ["mary", "anna", "bob"]
    assert report.n_input == 10 and report.n_output == 3
    assert report.removed[DUPLICATE] == 3 and report.removed[EMPTY] == 1
    assert report.removed["letters_only"] == 1 and report.removed["too_short"] == 1
    assert report.removed["no_vowel"] == 1
    assert report.n_removed == report.n_input - report.n_output
    assert report.examples[DUPLICATE] == ["mary", " MARY ", "Anna"]
    assert report.n_changed_by_normalisation == 3  # "Mary", " MARY ", "Anna"
    assert "kept" in str(report) and "duplicate" in str(report)


def test_curate_options_and_validation():
    kept, report = curate(["b", "a", "b"], rules=[], normaliser=None, deduplicate=False)
    assert kept == ["b", "a", "b"] and DUPLICATE not in report.removed
    short = Rule("short", "at most 3 letters", lambda s: len(s) <= 3)
    kept, report = curate(["anna", "bob", "bob"], rules=[short])
    assert kept == ["bob"] and report.removed == {EMPTY: 0, "short": 1, DUPLICATE: 1}
    with pytest.raises(ValueError, match="unique"):
        curate(["a"], rules=[short, short])
    with pytest.raises(ValueError, match="reserved"):
        Rule(DUPLICATE, "x", lambda s: True)
    with pytest.raises(ValueError, match="lower-case letters"):
        Rule("Bad Name", "x", lambda s: True)
    with pytest.raises(ValueError, match="Rule objects"):
        curate(["a"], rules=[lambda s: True])


def test_simulated_scrape_is_deterministic_and_realistic():
    names = ["mary", "john", "anna", "bob", "eve", "liam", "emma", "noah"]
    raw = simulate_scraped_names(names, popular=["mary", "john"], popular_copies=20,
                                 n_variants=10, n_noisy=10, n_junk=10, seed=1)
    assert raw == simulate_scraped_names(names, popular=["mary", "john"], popular_copies=20,
                                         n_variants=10, n_noisy=10, n_junk=10, seed=1)
    counts = Counter(raw)
    assert counts["mary"] == 20 and counts["john"] == 10
    assert len(raw) == len(names) + 19 + 9 + 30
    kept, report = curate(raw)
    assert set(names) <= set(kept)
    assert report.removed[DUPLICATE] >= 28
    with pytest.raises(ValueError, match="popular_copies must be >= 1"):
        simulate_scraped_names(names, popular_copies=0)


def test_fraction_matching():
    assert fraction_matching(["a", "b", "a", "c"], ["a"]) == 0.5
    assert fraction_matching([], ["a"]) == 0.0


# --- near-duplicate documents -------------------------------------------------------------


def test_containment_of_windows():
    from course_utils.data.curation import containment, shingles

    page = "The quick brown fox jumps over the lazy dog. " * 3
    assert containment(shingles(page[:60], k=10), shingles(page, k=10)) == 1.0
    assert containment(shingles("zzzzzzzzzzzz", k=10), shingles(page, k=10)) == 0.0
    assert shingles("short", k=10) == {hash("short")}
    with pytest.raises(ValueError, match="k must be >= 1"):
        shingles("text", k=0)


def test_drop_contained_documents_keeps_the_longer_copy():
    from course_utils.data.curation import drop_contained_documents

    long_page = "".join(f"section {i}: the statement number {i} does something. " for i in range(40))
    part = long_page[200:900]
    other = "an unrelated page about generators and iterators, " * 10
    kept, dropped = drop_contained_documents([("part", part), ("long", long_page),
                                              ("other", other)], k=20)
    assert [title for title, _ in kept] == ["long", "other"]  # original order kept
    assert [d.title for d in dropped] == ["part"] and dropped[0].contained == 1.0
    with pytest.raises(ValueError, match="threshold must be > 0"):
        drop_contained_documents([("a", "text")], threshold=0)


def test_overlap_groups_link_documents_that_share_text():
    from course_utils.data.curation import overlap_groups

    base = "".join(f"line {i} of a shared paragraph. " for i in range(30))
    texts = [base + " tail one", "something else entirely, " * 20, "head two " + base[:400]]
    assert overlap_groups(texts, k=20) == [0, 1, 0]
