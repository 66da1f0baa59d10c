# Egress Console. Two commands matter (see README): `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test setup system-packages messages testenv testenv-stop bench screenshots lint format clean

run: setup  ## set up and serve the console on http://127.0.0.1:8000, its job worker beside it
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Egress Console: http://$(HOST):$(PORT)/"
	@# NB: the worker runs applies and webhook deliveries from the database queue; it stops with the server.
	$(BIN)/python manage.py db_worker --no-reload --queue-name '*' --interval 0.5 & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/python manage.py runserver $(HOST):$(PORT)

test:  ## install everything the tests need, then run ruff and every test (scripts/test.sh)
	bash scripts/test.sh

setup: $(STAMP) messages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

system-packages:
	bash scripts/ensure-system-packages.sh

messages: $(STAMP)
	@if [ ! -d locale ]; then echo "no catalogs to compile"; \
	 elif command -v msgfmt >/dev/null; then $(BIN)/python manage.py compilemessages --ignore '.venv' -v0; \
	 else echo "gettext (msgfmt) missing: the console runs in English only. apt-get install gettext"; fi

testenv: setup  ## build (once) and start kube-apiserver + etcd; writes .testenv/kubeconfig
	bash testenv/build.sh
	mkdir -p .testenv && $(BIN)/python manage.py egress crd > .testenv/asm-egress-crd.yaml
	$(BIN)/python -m testenv.controlplane start --kubeconfig .testenv/kubeconfig --crd .testenv/asm-egress-crd.yaml \
		--namespace istio-system --namespace istio-egress --namespace mytest

testenv-stop:
	$(BIN)/python -m testenv.controlplane stop

bench: setup  ## print the performance figures
	for b in core expansion simulator review review_page preview large_inputs api api_inprocess apply apply_jobs kubectl_vs_egress discover load; do \
	  echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || exit 1; done

screenshots: setup
	$(BIN)/python scripts/screenshots.py

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports && $(BIN)/mypy

format:
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
