# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DATA_DIR ?= ../shared/data
# Optional package index for the pinned torch==2.13.0. Unset (the default), pip installs what
# it installs anywhere: on Linux that is the CUDA build (several GB). For the CPU-only wheel:
#   make run TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# (passed as --extra-index-url; pip's own PIP_EXTRA_INDEX_URL works as well).
TORCH_INDEX_URL ?=
TORCH_INDEX_FLAGS := $(if $(strip $(TORCH_INDEX_URL)),--extra-index-url $(strip $(TORCH_INDEX_URL)))

.PHONY: run test chat train-names train-sentiment train-sentiment-short train-phrases lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_INDEX_FLAGS) -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m bot run

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

chat: $(STAMP)
	$(PY) -m bot chat

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# names-makemore.pt is the public benchmark model (makemore's names.txt and split); the three
# served styles are conditional models built from their corpora (ml/names/corpora.py).
# CPU, one thread each: makemore ~40 min, en ~50 min, ru ~15 min, fantasy ~20 min.
train-names: $(STAMP)
	$(PY) -m ml train-names --data $(DATA_DIR)/names/makemore/names.txt --style makemore --out ml/checkpoints/names-makemore.pt --hidden-size 384 --embedding-dim 64 --dropout 0.3 --max-epochs 30 --patience 4 --threads 1 --max-minutes 55
	$(PY) -m ml train-names --corpus en --data-dir $(DATA_DIR) --style en --out ml/checkpoints/names-en.pt --hidden-size 256 --embedding-dim 64 --dropout 0.2 --batch-size 128 --draws-per-epoch 200000 --max-epochs 5 --patience 3 --threads 1 --max-minutes 24 --warmup-steps 200 --guidance 2.0
	$(PY) -m ml train-names --corpus ru --data-dir $(DATA_DIR) --style ru --out ml/checkpoints/names-ru.pt --hidden-size 256 --embedding-dim 48 --dropout 0.4 --weight-decay 0.05 --learning-rate 0.002 --batch-size 64 --draws-per-epoch 30000 --max-epochs 30 --patience 5 --threads 1 --max-minutes 20 --warmup-steps 100
	$(PY) -m ml train-names --corpus fantasy --data-dir $(DATA_DIR) --style fantasy --out ml/checkpoints/names-fantasy.pt --hidden-size 256 --embedding-dim 48 --dropout 0.3 --batch-size 64 --draws-per-epoch 60000 --max-epochs 40 --patience 4 --threads 1 --max-minutes 24 --warmup-steps 100 --guidance 3.0

# Defaults of train-sentiment are the shipped settings. The review checkpoints were trained on
# one H100 (about 7 min each); on a CPU the same command runs for hours (see the model card).
train-sentiment: $(STAMP)
	$(PY) -m ml train-sentiment --lang en --data-dir $(DATA_DIR) --out ml/checkpoints/sentiment-en.pt --seed 1337 --threads 3 --device auto
	$(PY) -m ml train-sentiment --lang ru --data-dir $(DATA_DIR) --out ml/checkpoints/sentiment-ru.pt --seed 1337 --threads 3 --device auto
	$(MAKE) train-sentiment-short

# The short-text models start from the review checkpoints' encoders and train on a CPU
# (en: 2 threads, about 20 min; ru: 5-fold cross-fitted, 1 thread, about 35 min); then the
# review models' temperatures are fitted, the ru short checkpoint gets its learned
# "short post or review" router, and both short checkpoints their lexicons (a minute or two).
train-sentiment-short: $(STAMP)
	$(PY) -m ml train-sentiment-short --lang en --init ml/checkpoints/sentiment-en.pt --out ml/checkpoints/sentiment-en-short.pt --data-dir $(DATA_DIR) --epochs 3 --threads 2
	$(PY) -m ml train-sentiment-short --lang ru --init ml/checkpoints/sentiment-ru.pt --out ml/checkpoints/sentiment-ru-short.pt --data-dir $(DATA_DIR) --epochs 3 --threads 1 --select-metric macro_f1 --bag-c 4 --stack-folds 5
	$(PY) -m ml calibrate-sentiment --checkpoint ml/checkpoints/sentiment-en.pt --data-dir $(DATA_DIR) --threads 2
	$(PY) -m ml calibrate-sentiment --checkpoint ml/checkpoints/sentiment-ru.pt --data-dir $(DATA_DIR) --threads 2
	$(PY) -m ml fit-sentiment-router --checkpoint ml/checkpoints/sentiment-ru-short.pt --data-dir $(DATA_DIR) --c 16 --always-short-tokens 32
	$(PY) -m ml fit-sentiment-lexicon --checkpoint ml/checkpoints/sentiment-en-short.pt --data-dir $(DATA_DIR)
	$(PY) -m ml fit-sentiment-lexicon --checkpoint ml/checkpoints/sentiment-ru-short.pt --data-dir $(DATA_DIR)

# Phrase models (issue 13): character-level GRUs over a text stream, one thread each. The
# learning rate follows the clock when the clock is further along than the steps, so on a
# slower (or busier) machine a run ends at --max-minutes with fewer epochs, still cooled down.
train-phrases: $(STAMP)
	$(PY) -m ml train-phrases --corpus simpsons --data-dir $(DATA_DIR) --out ml/checkpoints/phrases-simpsons.pt --hidden-size 384 --embedding-dim 64 --dropout 0.25 --batch-size 32 --bptt 64 --learning-rate 0.004 --warmup-steps 50 --max-epochs 30 --eval-every 106 --max-chars 200 --threads 1 --max-minutes 20
	$(PY) -m ml train-phrases --corpus tolstoy --data-dir $(DATA_DIR) --out ml/checkpoints/phrases-tolstoy.pt --hidden-size 256 --embedding-dim 64 --dropout 0.1 --batch-size 32 --bptt 64 --learning-rate 0.005 --warmup-steps 50 --max-epochs 8 --eval-every 500 --max-chars 300 --threads 1 --max-minutes 24

bench: $(STAMP)
	$(PY) bench/names.py --data-dir $(DATA_DIR)
	$(PY) bench/sentiment.py --data-dir $(DATA_DIR)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
