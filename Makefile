# ciyu — `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SAMPLE := data/zh_laws_sample.txt.gz
DEMO_OUT ?= demo-out

.PHONY: demo test lint typecheck pytest bench clean

# pip compiles the extension (src/ciyu/_lattice.c) at install time: reinstall whenever its
# source or the build configuration changes, so that no test runs a stale extension
BUILD_INPUTS := pyproject.toml setup.py src/ciyu/_lattice.c src/ciyu/_tparse.c

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python $(BUILD_INPUTS)
	$(BIN)/python -m pip install --quiet -e '.[jieba]'
	touch $@

$(VENV)/.installed-test: $(BIN)/python $(BUILD_INPUTS)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-bench: $(BIN)/python $(BUILD_INPUTS)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	# bytepiece needs pyahocorasick built with byte keys; the tokenizer benchmark reports
	# bytepiece as missing if this fails
	-$(BIN)/python -m pip install --quiet cython wheel && \
	  AHOCORASICK_BYTES=1 $(BIN)/python -m pip install --quiet --force-reinstall \
	    --no-cache-dir --no-binary pyahocorasick pyahocorasick && \
	  $(BIN)/python -m pip install --quiet --no-build-isolation bytepiece
	touch $@

## demo: discover the words of the bundled law sample (and the new ones, against jieba's
## dictionary), train a model, adapt jieba's dictionary to the sample, segment two sentences
## with both, export the model for jieba, Hugging Face and sentencepiece, mine templates,
## write the HTML report
demo: $(VENV)/.installed
	@mkdir -p $(DEMO_OUT)
	@echo "== ciyu discover $(SAMPLE) --top 20"
	$(BIN)/ciyu discover $(SAMPLE) -o $(DEMO_OUT)/words.tsv
	@head -n 21 $(DEMO_OUT)/words.tsv
	@echo "== $$(($$(wc -l < $(DEMO_OUT)/words.tsv) - 1)) words in $(DEMO_OUT)/words.tsv"
	@echo "== ciyu discover $(SAMPLE) --new-only --top 12   (the words jieba's dictionary lacks)"
	@$(BIN)/ciyu discover $(SAMPLE) --new-only --top 12 -q | cut -f1 | tail -n +2 | tr '\n' ' '; echo
	@echo "== ciyu explain 民法典 $(SAMPLE)"
	@$(BIN)/ciyu explain 民法典 $(SAMPLE) | tail -n 3
	@echo "== ciyu train $(SAMPLE) -o $(DEMO_OUT)/law.model"
	$(BIN)/ciyu train $(SAMPLE) -o $(DEMO_OUT)/law.model
	@echo "== ciyu train $(SAMPLE) --base jieba -o $(DEMO_OUT)/law-jieba.model"
	$(BIN)/ciyu train $(SAMPLE) --base jieba -o $(DEMO_OUT)/law-jieba.model
	@echo "== ciyu segment -m $(DEMO_OUT)/law.model, then -m $(DEMO_OUT)/law-jieba.model"
	@printf '当事人应当按照约定全面履行自己的义务。\n国家机关工作人员滥用职权，致使公共财产遭受重大损失的，处三年以下有期徒刑。\n' \
		> $(DEMO_OUT)/two-lines.txt
	@$(BIN)/ciyu segment -q -m $(DEMO_OUT)/law.model $(DEMO_OUT)/two-lines.txt
	@$(BIN)/ciyu segment -q -m $(DEMO_OUT)/law-jieba.model $(DEMO_OUT)/two-lines.txt
	@echo "== ciyu export -m $(DEMO_OUT)/law.model --format jieba-main -o $(DEMO_OUT)/jieba_dict.txt"
	$(BIN)/ciyu export -m $(DEMO_OUT)/law.model --format jieba-main -o $(DEMO_OUT)/jieba_dict.txt
	$(BIN)/ciyu export -m $(DEMO_OUT)/law.model --format hf -o $(DEMO_OUT)/tokenizer.json
	$(BIN)/ciyu export -m $(DEMO_OUT)/law.model --format sentencepiece -o $(DEMO_OUT)/law_spm.model
	@echo "== ciyu templates $(SAMPLE) -m $(DEMO_OUT)/law.model -o $(DEMO_OUT)/templates.tsv"
	$(BIN)/ciyu templates $(SAMPLE) -m $(DEMO_OUT)/law.model -o $(DEMO_OUT)/templates.tsv
	@cut -f1,2 $(DEMO_OUT)/templates.tsv | head -n 8
	@echo "== ciyu report $(SAMPLE) --discovery $(DEMO_OUT)/words.tsv -m $(DEMO_OUT)/law.model --reference jieba --templates $(DEMO_OUT)/templates.tsv"
	$(BIN)/ciyu report $(SAMPLE) --discovery $(DEMO_OUT)/words.tsv -m $(DEMO_OUT)/law.model \
		--reference jieba --templates $(DEMO_OUT)/templates.tsv -o $(DEMO_OUT)/report.html
	@echo "== open $(DEMO_OUT)/report.html in a browser"

## test: unit, property and CLI tests, then lint and type checks
test: pytest lint typecheck

pytest: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks data docs
	$(BIN)/ruff format --check src tests benchmarks data docs

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

## bench: quality and tokenizer benchmarks on ../shared/data (needs that folder)
bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/quality.py
	$(BIN)/python benchmarks/compression.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
