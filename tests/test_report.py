"""The HTML report: content, self-containment, and behaviour in a real headless Chromium."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ciyu.cli import main
from ciyu.errors import CiyuError
from ciyu.report import Report, WordRow, read_discovery_tsv
from ciyu.text import NUM
from test_cli import corpus, model  # noqa: F401  (module fixtures: the law corpus and model)

WORDS = [
    WordRow("人民法院", 120, 5.1, 3.2, 3.0, 900.0, True),
    WordRow("当事人", 300, 6.0, 4.1, 2.2, 800.0, True),
    WordRow("诉讼", 80, 7.5, 2.5, 2.7, 700.0, False),
    WordRow(NUM + "年", 60, None, None, None, 600.0, False),
    WordRow("a</script><b>x", 3, 1.0, 0.5, 0.5, 1.0, None),
]


def embedded(page: str, table: str = "words") -> dict[str, object]:
    m = re.search(r'<script type="application/json" id="ciyu-data">(.*?)</script>', page, re.S)
    assert m is not None
    data = json.loads(m.group(1))
    assert isinstance(data, dict)
    section = data[table]
    assert isinstance(section, dict)
    return section


def test_page_is_self_contained_and_escaped() -> None:
    page = Report("法律 <report>", WORDS, ["law.txt"]).html()
    assert "<title>法律 &lt;report&gt;</title>" in page
    # nothing to fetch: no URLs, no src/href attributes, and a policy that forbids fetching
    assert not re.search(r"https?://|\bsrc=|\bhref=|@import|url\(", page)
    assert "default-src 'none'" in page
    # a word cannot close the data element; it survives the round trip through JSON
    assert page.count("</script>") == 2
    data = embedded(page)
    rows = data["rows"]
    assert isinstance(rows, list)
    assert [r[0] for r in rows] == ["人民法院", "当事人", "诉讼", "<num>年", "a</script><b>x"]
    assert rows[3][2] is None  # a missing statistic is null, not NaN
    assert data["lengths"] == [4, 3, 2, 2, 14]
    assert len(re.findall(r'<svg class="chart"', page)) == 3  # no model: no coverage chart
    # every chart says how to read it; no model, no sample, no templates section
    assert len(re.findall(r"<figure><svg .*?</svg><figcaption>[^<]{40,}</figcaption>", page)) == 3
    assert 'id="sample"' not in page and 'id="templates"' not in page
    assert "The word table lists the 5 words that discovery ranked" in page


def test_discovery_tsv_round_trip(
    corpus: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tsv = tmp_path / "words.tsv"
    ref = tmp_path / "ref.txt"
    ref.write_text("应当\n或者\n", encoding="utf-8")
    assert main(["-q", "discover", str(corpus), "--reference", str(ref), "-o", str(tsv)]) == 0
    rows = read_discovery_tsv(tsv)
    lines = tsv.read_text(encoding="utf-8").splitlines()
    assert len(rows) == len(lines) - 1 > 100
    first = lines[1].split("\t")
    assert rows[0].word == first[0] and rows[0].count == int(first[1])
    by_word = {r.word: r for r in rows}
    assert by_word["应当"].in_reference is True
    assert sum(r.in_reference is False for r in rows) > 50


def test_discovery_tsv_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("word\tcount\n", encoding="utf-8")
    with pytest.raises(CiyuError, match=r"bad.tsv:1: not a `ciyu discover` table"):
        read_discovery_tsv(bad)
    bad.write_text(
        "word\tcount\tcohesion\tleft_entropy\tright_entropy\tscore\n法院\t12\tx\t1\t1\t3\n",
        encoding="utf-8",
    )
    with pytest.raises(CiyuError, match=r"bad.tsv:2: malformed row; expected 6"):
        read_discovery_tsv(bad)


def test_report_cli(
    corpus: Path,  # noqa: F811
    model: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "report.html"
    assert main(["-q", "report", str(corpus), "-m", str(model), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert len(re.findall(r'<svg class="chart"', page)) == 4
    assert len(re.findall(r"<figcaption>", page)) == 4
    # the share of characters "covered by the model's words" always read 100%: gone
    assert "covered by the model" not in page
    # the two word counts are told apart
    words = len(embedded(page)["rows"])  # type: ignore[arg-type]
    assert f"The word table lists the {words:,} words" in page
    assert re.search(r"The model segments with its own lexicon of [\d,]+ words", page)
    # a sample of sentences as the model segments them, each word in its own span
    sample = re.search(r'<ol class="sample" id="sample">(.*?)</ol>', page, re.S)
    assert sample is not None
    sentences = re.findall(r"<li>(.*?)</li>", sample.group(1))
    assert len(sentences) == 12
    corpus_text = corpus.read_text(encoding="utf-8")
    for sentence in sentences:
        joined = "".join(re.findall(r'<span class="w">(.*?)</span>', sentence))
        assert len(re.findall(r'<span class="w">', sentence)) >= 6
        assert html.unescape(joined) in corpus_text.replace(" ", "").replace("\u3000", "")
    assert main(["report", "-o", str(out)]) == 2
    assert "give the corpus FILE... to discover words in, or --discovery" in capsys.readouterr().err
    tsv = tmp_path / "w.tsv"
    assert main(["-q", "discover", str(corpus), "--top", "50", "-o", str(tsv)]) == 0
    assert main(["report", "--discovery", str(tsv), "-m", str(model), "-o", str(out)]) == 2
    assert "-m/--model needs the corpus FILE..." in capsys.readouterr().err
    assert main(["-q", "report", "--discovery", str(tsv), "-o", str(out)]) == 0
    assert len(embedded(out.read_text(encoding="utf-8"))["rows"]) == 50  # type: ignore[arg-type]


# -- in a real browser ------------------------------------------------------------------


def chromium() -> str | None:
    """Debian's Chromium (``apt-get install chromium``), or $CIYU_CHROMIUM."""
    return os.environ.get("CIYU_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Chromium for the report test: apt-get install chromium")
        pytest.skip("no Chromium: apt-get install chromium (or set CIYU_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


def test_report_in_chromium(
    browser: object,
    corpus: Path,  # noqa: F811
    model: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    ref = tmp_path / "ref.txt"
    ref.write_text("应当\n或者\n人民法院\n当事人\n", encoding="utf-8")
    tsv = tmp_path / "templates.tsv"
    assert main(["-q", "templates", str(corpus), "-m", str(model), "-o", str(tsv)]) == 0
    out = tmp_path / "report.html"
    args = ["-q", "report", str(corpus), "-m", str(model), "--reference", str(ref)]
    assert main([*args, "--templates", str(tsv), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    rows = embedded(text)["rows"]
    assert isinstance(rows, list)
    total = len(rows)
    query = rows[0][0][0]  # the first character of the best word
    expected = sum(query in r[0] for r in rows)
    new_words = sum(not r[-1] for r in rows)
    trows = embedded(text, "templates")["rows"]
    assert isinstance(trows, list) and len(trows) > 20

    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    assert requests == [out.as_uri()]  # nothing fetched but the page itself
    assert errors == []

    # four charts, drawn with a real size
    charts = page.query_selector_all("svg.chart")
    assert len(charts) == 4
    for chart in charts:
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150
    assert len(page.query_selector_all("#sample li")) == 12

    def column(key: str, table: str = "words") -> list[str]:
        index = page.eval_on_selector_all(
            f"#{table} th", f"ths => ths.findIndex(th => th.dataset.key === '{key}')"
        )
        cells: list[str] = page.eval_on_selector_all(
            f"#{table}-body tr", f"trs => trs.map(tr => tr.children[{index}].textContent)"
        )
        return cells

    def numbers(key: str, table: str = "words") -> list[float]:
        return [float(x.replace(",", "")) for x in column(key, table)]

    # with a reference, the table opens on the words the reference lacks
    assert page.input_value("#in-reference") == "no"
    assert set(column("in_reference")) == {"no"} and "应当" not in column("word")
    assert page.inner_text("#matching").startswith(
        f"{new_words:,} of {total:,} words match (not in the reference"
    )
    page.select_option("#in-reference", "any")
    assert len(column("word")) == min(total, 500)
    assert page.inner_text("#matching").startswith(f"{total:,} of {total:,} words match")

    # sorting: count descending, then ascending
    page.click("#words th[data-key='count']")
    counts = numbers("count")
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    assert page.get_attribute("#words th[data-key='count']", "aria-sort") == "descending"
    page.click("#words th[data-key='count']")
    assert numbers("count") == sorted(numbers("count"))

    # filters: length, count, reference, substring
    page.fill("#min-length", "3")
    assert min(numbers("length")) >= 3
    page.fill("#max-length", "3")
    assert set(numbers("length")) == {3.0}
    page.fill("#min-length", "")
    page.fill("#max-length", "")
    page.fill("#min-count", "50")
    assert min(numbers("count")) >= 50
    page.fill("#min-count", "")
    page.select_option("#in-reference", "yes")
    assert set(column("word")) <= {"应当", "或者", "人民法院", "当事人"}
    assert "应当" in column("word")
    page.select_option("#in-reference", "no")
    assert "应当" not in column("word") and set(column("in_reference")) == {"no"}
    page.select_option("#in-reference", "any")
    page.fill("#search", query)
    words = column("word")
    assert words and all(query in w for w in words)
    assert page.inner_text("#matching").startswith(f"{expected:,} of {total:,} words match")
    page.fill("#search", "")

    # paging
    if total > 500:
        page.click("#more")
        assert len(column("word")) == min(total, 1000)

    # the templates table: sorted, filtered by template, filler and fixed words
    assert len(column("template", "templates")) == min(len(trows), 500)
    page.click("#templates th[data-key='count']")
    counts = numbers("count", "templates")
    assert counts == sorted(counts, reverse=True)
    word = trows[0][0].split(" ")[0]
    page.fill("#t-search", word)
    shown = column("template", "templates")
    assert shown and all(word in t for t in shown)
    assert len(shown) == sum(word in r[0] for r in trows)
    page.fill("#t-search", "")
    page.fill("#t-min-fixed", "3")
    assert min(numbers("fixed", "templates")) >= 3
    page.fill("#t-min-fixed", "")
    filler = trows[0][7][0].split(" ")[0]
    page.fill("#t-filler", filler)
    assert trows[0][0] in column("template", "templates")
    assert page.inner_text("#t-matching").endswith("templates match")
    page.screenshot(path=str(tmp_path / "report.png"))
    assert requests == [out.as_uri()]
    assert errors == []
    page.close()
