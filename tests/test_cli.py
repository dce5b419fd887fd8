"""Every command, run in-process, including bad input and its exact error."""

from __future__ import annotations

import gzip
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ciyu import dictionary
from ciyu.cli import COMMANDS, build_parser, main, parse_size
from conftest import SAMPLE


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "law.txt"
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(6000)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def model(corpus: Path) -> Path:
    path = corpus.parent / "law.model"
    assert main(["-q", "train", str(corpus), "-o", str(path)]) == 0
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def set_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_discover_tsv(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["discover", str(corpus), "--top", "5"], capsys)
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows[0] == ["word", "count", "cohesion", "left_entropy", "right_entropy", "score"]
    assert len(rows) == 6
    scores = [float(r[5]) for r in rows[1:]]
    assert scores == sorted(scores, reverse=True)


def test_discover_reference_and_new_only(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = tmp_path / "ref.txt"
    ref.write_text("应当 100 v\n或者 50 c\n", encoding="utf-8")
    _, out, _ = run(["discover", str(corpus), "--reference", str(ref)], capsys)
    rows = {r.split("\t")[0]: r.split("\t")[-1] for r in out.splitlines()[1:]}
    assert rows["应当"] == "yes" and rows["或者"] == "yes"
    assert set(rows.values()) == {"yes", "no"}
    out_path = tmp_path / "new.tsv"
    code, _, _ = run(
        ["discover", str(corpus), "--reference", str(ref), "--new-only", "-o", str(out_path)],
        capsys,
    )
    assert code == 0
    new = [r.split("\t")[0] for r in out_path.read_text(encoding="utf-8").splitlines()[1:]]
    assert "应当" not in new and len(new) == len(rows) - 2


def test_new_only_without_jieba_needs_reference(
    corpus: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dictionary, "default_jieba_dictionary", lambda: None)
    code, _, err = run(["discover", str(corpus), "--new-only"], capsys)
    assert code == 2
    assert err == (
        "ciyu: error: --new-only without --reference compares with the installed jieba's "
        "dictionary, but jieba is not installed: pip install jieba, or give --reference "
        "LEXICON\n"
    )


def test_explain(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["explain", "应当", str(corpus)], capsys)
    assert code == 0
    assert out.startswith("word: 应当\n") and "verdict: KEPT" in out
    code, _, err = run(["discover", str(corpus), "--top", "1", "--explain", "应当"], capsys)
    assert code == 0 and "verdict: KEPT" in err


def test_count_then_reuse(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    counts = tmp_path / "c.npz"
    assert run(["count", str(corpus), "-o", str(counts)], capsys)[0] == 0
    _, direct, _ = run(["discover", str(corpus)], capsys)
    _, reused, _ = run(["discover", str(corpus), "--counts", str(counts)], capsys)
    assert direct == reused


def test_segment_file_and_stdin(
    model: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "当事人应当按照约定履行义务。\n\n2024年1月1日起施行，共3.5%！😀\n"
    src = tmp_path / "in.txt"
    src.write_text(text, encoding="utf-8")
    code, out, _ = run(["segment", "-m", str(model), str(src), "--sep", "|"], capsys)
    assert code == 0
    assert [line.replace("|", "") for line in out.split("\n")] == text.split("\n")
    assert "|应当|" in out
    set_stdin(monkeypatch, text.encode())
    code, out2, _ = run(["segment", "-m", str(model), "--sep", "|"], capsys)
    assert code == 0 and out2 == out
    dest = tmp_path / "out.txt"
    assert (
        run(["segment", "-m", str(model), str(src), "-o", str(dest), "--sep", "|"], capsys)[0] == 0
    )
    assert dest.read_text(encoding="utf-8") == out


def test_segment_is_deterministic(
    model: Path, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    run(["segment", "-m", str(model), str(corpus), "-o", str(a)], capsys)
    run(["segment", "-m", str(model), str(corpus), "-o", str(b)], capsys)
    assert a.read_bytes() == b.read_bytes()
    model2 = tmp_path / "again.model"
    run(["-q", "train", str(corpus), "-o", str(model2)], capsys)
    assert model2.read_bytes() == model.read_bytes()


def test_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = tmp_path / "g"
    pred = tmp_path / "p"
    gold.write_text("中文  分词\n", encoding="utf-8")
    pred.write_text("中文 分 词\n", encoding="utf-8")
    code, out, _ = run(["eval", str(gold), str(pred), "--json"], capsys)
    assert code == 0
    assert json.loads(out)["recall"] == 0.5
    code, out, _ = run(["eval", str(gold), str(pred)], capsys)
    assert out.splitlines()[2] == "F1         0.4000"


def test_invalid_utf8(tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes("第一行\n第二行".encode() + b"\xc3\x28\n")
    code, out, err = run(["segment", "-m", str(model), str(bad)], capsys)
    assert code == 2
    assert err == (
        f"ciyu: error: {bad}:2: invalid UTF-8 byte 0xc3 at byte offset 19 of the file; "
        "convert the file to UTF-8 (e.g. `iconv -f GB18030 -t UTF-8`) or pass --errors replace\n"
    )
    code, out, _ = run(["segment", "-m", str(model), str(bad), "--errors", "replace"], capsys)
    assert code == 0 and "\ufffd" in out


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["discover", str(tmp_path / "nope.txt")], capsys)
    assert code == 2
    assert (
        err == f"ciyu: error: {tmp_path / 'nope.txt'}: no such file or directory; check the path\n"
    )


def test_empty_file(tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    code, _, err = run(["discover", str(empty)], capsys)
    assert code == 2
    assert err == (
        "ciyu: error: no learnable text in the input (no CJK or kana characters); "
        "check the input files, or their encoding\n"
    )
    assert run(["segment", "-m", str(model), str(empty)], capsys)[:2] == (0, "")


def test_bad_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.model"
    bad.write_text("not a model\n", encoding="utf-8")
    code, _, err = run(["segment", "-m", str(bad), "-"], capsys)
    assert code == 2
    assert err == f"ciyu: error: {bad}:1: not a ciyu model file (no '#ciyu-model' header)\n"


def test_ten_megabyte_line_without_punctuation(
    tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the law sample with everything but ideographs removed: one 10 MB line
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        text = "".join(ch for ch in fh.read() if "\u4e00" <= ch <= "\u9fff")
    line = (text * 4)[: 10_000_000 // 3 + 1]
    big = tmp_path / "big.txt"
    big.write_text(line + "\n", encoding="utf-8")
    assert big.stat().st_size >= 10_000_000
    out = tmp_path / "big.out"
    code, _, err = run(["segment", "-m", str(model), str(big), "-o", str(out)], capsys)
    assert code == 0
    summary = rf"1 line \(10,000,003 bytes\) segmented into {re.escape(str(out))}"
    assert re.fullmatch(rf"ciyu: segment: {summary} in \d+\.\d s\n", err)
    segmented = out.read_text(encoding="utf-8")
    assert segmented.count("\n") == 1
    assert segmented.replace(" ", "") == line + "\n"
    code, tsv, _ = run(["discover", str(big), "--top", "3"], capsys)
    assert code == 0 and len(tsv.splitlines()) == 4
    assert tsv.splitlines()[1].startswith("或者\t")


@pytest.mark.parametrize(
    ("method", "flags"),
    [
        ("ensemble", ["--min-votes", "2"]),
        ("cohesion", []),
        ("nvbe", []),
        ("lm", []),
        ("minent", []),
        ("unigram", ["--vocab-size", "2000"]),
    ],
)
def test_train_every_method(
    method: str, flags: list[str], corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{method}.model"
    code, _, err = run(
        ["-q", "train", str(corpus), "--method", method, *flags, "-o", str(path)], capsys
    )
    assert code == 0, err
    header = path.read_text(encoding="utf-8").splitlines()[1]
    assert json.loads(header.split("\t", 1)[1])["method"] == method


def test_train_default_is_ensemble(model: Path) -> None:
    header = model.read_text(encoding="utf-8").splitlines()[1]
    assert json.loads(header.split("\t", 1)[1])["method"] == "ensemble"


def test_train_method_help_lists_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--method", "unigram", "--help"])
    assert "--vocab-size" in capsys.readouterr().out


@pytest.mark.parametrize("name", [c.name for c in COMMANDS])
def test_one_command_parser_is_the_whole_parsers(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # main() builds only the command it runs: the help (every option, every default) must
    # be what the parser of all commands gives
    helps = []
    for command in (None, name):
        with pytest.raises(SystemExit):
            build_parser(None, command).parse_args([name, "--help"])
        helps.append(capsys.readouterr().out)
    assert helps[0] == helps[1] and "usage: ciyu " + name in helps[0]


def test_segment_starts_without_the_learners(model: Path, tmp_path: Path) -> None:
    # `ciyu segment` imports neither numpy nor the learners: its startup is most of the
    # time of a short file, and what keeps -j from scaling on a long one
    src = tmp_path / "in.txt"
    src.write_text("当事人应当按照约定履行义务。\n", encoding="utf-8")
    script = (
        "import sys\nfrom ciyu.cli import main\n"
        f"code = main(['-q', 'segment', '-m', {str(model)!r}, {str(src)!r}, '-o', "
        f"{str(tmp_path / 'out.txt')!r}])\n"
        "heavy = sorted(m for m in sys.modules if m == 'numpy' or m.startswith('ciyu.learners'))\n"
        "print(code, heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "0 []"
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").replace(" ", "") == (
        "当事人应当按照约定履行义务。\n"
    )


def test_the_command_exits_with_the_status_of_main(model: Path, tmp_path: Path) -> None:
    # python -m ciyu (and the ciyu script) run cli.console: main(), then exit with its
    # status, the objects frozen rather than collected at shutdown
    src = tmp_path / "in.txt"
    src.write_text("当事人应当按照约定履行义务。\n第二行", encoding="utf-8")
    out = tmp_path / "out.txt"
    ok = subprocess.run(
        [sys.executable, "-m", "ciyu", "segment", "-m", str(model), str(src), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert (
        out.read_text(encoding="utf-8").replace(" ", "") == "当事人应当按照约定履行义务。\n第二行\n"
    )
    bad = subprocess.run(
        [sys.executable, "-m", "ciyu", "segment", "-m", str(tmp_path / "none"), str(src)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "no such model file" in bad.stderr and not bad.stdout


def test_parse_size() -> None:
    assert parse_size("512M") == 512 << 20
    assert parse_size("1.5GiB") == 3 << 29
    assert parse_size("1000") == 1000
    with pytest.raises(Exception, match="invalid size"):
        parse_size("lots")


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train"])
    assert exc.value.code == 2
    assert "the following arguments are required" in capsys.readouterr().err


def test_thread_count_does_not_change_output(
    corpus: Path, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # several chunks and batches, so that two worker processes really share the work
    big = tmp_path / "big.txt"
    text = corpus.read_text(encoding="utf-8")
    big.write_text(text * 4, encoding="utf-8")
    outputs = {}
    for threads in ("1", "2"):
        counts = tmp_path / f"c{threads}.npz"
        seg = tmp_path / f"s{threads}.txt"
        assert (
            run(
                ["-q", "count", "-j", threads, "--order", "3", str(big), "-o", str(counts)], capsys
            )[0]
            == 0
        )
        assert (
            run(["segment", "-j", threads, "-m", str(model), str(big), "-o", str(seg)], capsys)[0]
            == 0
        )
        trained = tmp_path / f"m{threads}.model"
        assert run(["-q", "train", "-j", threads, str(big), "-o", str(trained)], capsys)[0] == 0
        outputs[threads] = (counts.read_bytes(), seg.read_bytes(), trained.read_bytes())
    assert outputs["1"] == outputs["2"]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_only() -> None:
    from ciyu._progress import Progress

    term = FakeTerminal()
    progress = Progress(True, term)
    progress("count", 1_000_000)
    progress("count", 4_000_000)
    progress("segment", 2_000_000)  # the count's total is this pass's total
    progress("segment", 500_000)  # a new pass starts a new line
    progress.done()
    lines = [line.split("\r\x1b[K")[-1] for line in term.getvalue().split("\n")]
    assert lines[0].startswith("count     4.0 M chars")
    assert lines[1].startswith("segment   [" + "█" * 12 + "░" * 12 + "]  50%  2.0 M/4.0 M chars")
    assert lines[2].startswith("segment   [" + "█" * 3 + "░" * 21 + "]  12%  0.5 M/4.0 M chars")
    assert lines[3] == ""
    for silent in (Progress(False, FakeTerminal()), Progress(True, io.StringIO())):
        silent("count", 5)
        silent.done()
        assert silent.stream.getvalue() == ""  # type: ignore[attr-defined]


def test_a_small_corpus_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = tmp_path / "small.txt"
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        small.write_text("".join(next(fh) for _ in range(300)), encoding="utf-8")
    code, _, err = run(["-q", "train", str(small), "-o", str(tmp_path / "m")], capsys)
    assert code == 0
    assert re.fullmatch(
        r"ciyu: the corpus has only [\d,]+ learnable characters: .* in less than about "
        r"100,000 characters .* --base jieba\n",
        err,
    )


# --- templates and parse ---------------------------------------------------------------


def test_templates_and_parse_pre_segmented(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_templates import FRAMES, made_corpus

    lines = made_corpus(2000, seed=11)[0]
    src = tmp_path / "made.txt"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tsv = tmp_path / "t.tsv"
    code, _, err = run(["-q", "templates", "--pre-segmented", str(src), "-o", str(tsv)], capsys)
    assert code == 0, err
    rows = [r.split("\t") for r in tsv.read_text(encoding="utf-8").splitlines()]
    assert rows[0][:2] == ["template", "count"] and {r[0] for r in rows[1:]} == set(FRAMES)
    code, out, _ = run(["templates", "--pre-segmented", str(src), "-j", "2"], capsys)
    assert code == 0 and out == tsv.read_text(encoding="utf-8")  # stdout, any -j

    code, text, _ = run(["parse", "--pre-segmented", "--templates", str(tsv), str(src)], capsys)
    assert code == 0
    out_lines = text.splitlines()
    assert len(out_lines) == len(lines)
    for line, parsed in zip(lines, out_lines, strict=True):
        assert parsed.replace("[", "").replace("]", "").split() == line.split()
    assert any(p.startswith("[不仅 ") or " [不仅 " in p for p in out_lines)
    set_stdin(monkeypatch, (lines[1] + "\n\n").encode())
    code, js, _ = run(
        ["parse", "--pre-segmented", "--templates", str(tsv), "--format", "json"], capsys
    )
    assert code == 0
    first, empty = (json.loads(x) for x in js.splitlines())
    assert empty == []

    def words(t: object) -> list[str]:
        return [t] if isinstance(t, str) else [w for c in t for w in words(c)]  # type: ignore[attr-defined]

    assert words(first) == lines[1].split()


def test_parse_fill_right(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ciyu import Template, save_templates

    tsv = tmp_path / "t.tsv"
    save_templates([Template("在 <X> 中", 10, 5.0, 0.5, 2.0, 8, (), "")], tsv)
    src = tmp_path / "in.txt"
    src.write_text("他 在 大 会议 中 发言 。\n好\n", encoding="utf-8")
    argv = ["parse", "--pre-segmented", "--templates", str(tsv), str(src)]
    code, out, _ = run(argv, capsys)
    assert code == 0 and out == "他 [在 [大 会议] 中] 发言 。\n好\n"
    code, out, _ = run([*argv, "--fill", "right"], capsys)
    assert code == 0 and out == "他 [[在 [[大 会议] 中]] [发言 。]]\n好\n"
    code, out, _ = run([*argv, "--fill", "right", "--format", "json"], capsys)
    assert out.splitlines()[0] == '["他", [["在", [["大", "会议"], "中"]], ["发言", "。"]]]'


def test_templates_trains_a_model_and_parse_segments(
    corpus: Path, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = tmp_path / "law.txt"
    text = corpus.read_text(encoding="utf-8").splitlines()[:1500]
    small.write_text("\n".join(text) + "\n", encoding="utf-8")
    tsv = tmp_path / "t.tsv"
    code, _, err = run(["-q", "templates", str(small), "-o", str(tsv)], capsys)  # trains
    assert code == 0, err
    records = [r.split("\t") for r in tsv.read_text(encoding="utf-8").splitlines()[1:]]
    assert len(records) > 10 and all("<X>" in r[0] for r in records)
    code, out, _ = run(
        ["parse", "-m", str(model), "--templates", str(tsv), str(small), "--format", "json"], capsys
    )
    assert code == 0
    parsed = out.splitlines()
    assert len(parsed) == len(text)

    def words(t: object) -> list[str]:
        return [t] if isinstance(t, str) else [w for c in t for w in words(c)]  # type: ignore[attr-defined]

    for line, js in zip(text, parsed, strict=True):
        assert "".join(words(json.loads(js))) == "".join(line.split())  # lossless
    assert sum(js.count("[") for js in parsed) > len(text)  # templates were applied


def test_templates_and_parse_errors(
    tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.txt"
    src.write_text("甲 乙\n", encoding="utf-8")
    bad = tmp_path / "bad.tsv"
    bad.write_text("template\tcount\n", encoding="utf-8")
    code, _, err = run(["parse", "--templates", str(bad), str(src)], capsys)
    assert (code, err) == (
        2,
        "ciyu: error: give -m MODEL to segment the text, or --pre-segmented for text whose "
        "words are separated by spaces\n",
    )
    code, _, err = run(["parse", "--pre-segmented", "--templates", str(bad), str(src)], capsys)
    assert (code, err) == (
        2,
        f"ciyu: error: {bad}:1: not a templates file (expected the columns template count "
        "score gain weakest_pmi fillers top_fillers example); write one with "
        "`ciyu templates -o FILE`\n",
    )
    missing = tmp_path / "none.tsv"
    code, _, err = run(["parse", "--pre-segmented", "--templates", str(missing), str(src)], capsys)
    assert (code, err) == (
        2,
        f"ciyu: error: {missing}: no such file or directory; check the path\n",
    )
    code, _, err = run(["templates", "--pre-segmented", "-m", str(model), str(src)], capsys)
    assert (code, err) == (2, "ciyu: error: --pre-segmented text needs no model; drop -m/--model\n")
    broken = tmp_path / "broken.txt"
    broken.write_bytes("甲 乙\n".encode() + b"\xff\n")
    code, _, err = run(["templates", "--pre-segmented", str(broken)], capsys)
    assert code == 2 and err.startswith(f"ciyu: error: {broken}:2: invalid UTF-8 byte 0xff")


@pytest.mark.parametrize("value", ["-3", "-1", "two"])
def test_threads_must_be_zero_or_more(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["segment", "-m", "m.model", "-j", value])
    assert exc.value.code == 2
    assert f"argument -j/--threads: '{value}' is not 0 (one per CPU core) or more" in (
        capsys.readouterr().err
    )
