# Two commands on a fresh machine: `make demo` (install and run the demo hall) and
# `make test` (install the test needs and run every test). .ci/run calls `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432

# Debian packages the apps and tests need: a CJK font to draw Chinese (tickets, screens),
# the libraries Qt's offscreen platform loads, libxcb-cursor0, -icccm4 and -keysyms1 (Qt's
# xcb platform, a real screen, aborts without them), libusb for usb:// printers (pyusb)
# and espeak-ng, which makes the Mandarin voice clips (python -m display.voice_build; a
# test checks its trace), chromium with its driver, in which the tests open the phone
# pages and the HTML report, and systemd, whose systemd-analyze checks the deploy/ units.
DEB_PACKAGES := fonts-noto-cjk libegl1 libgl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3 \
	libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libusb-1.0-0 espeak-ng chromium chromium-driver \
	systemd

.PHONY: demo test install install-test system-deps postgres lint bench clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

system-deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q $$missing || { \
	    echo "could not install: $$missing (run: sudo apt-get install $$missing)" >&2; exit 1; }; \
	fi

install: $(PY) system-deps
	$(PY) -m pip install -q -e .

install-test: $(PY) system-deps
	$(PY) -m pip install -q -e '.[test]'

demo: install
	$(VENV)/bin/onewindow demo

# The store's tests run on PostgreSQL as well as SQLite: start the local cluster if
# it is installed and stopped; fail (never skip) when it cannot be reached.
postgres:
	@pg_isready -q -h $(PG_HOST) -p $(PG_PORT) 2>/dev/null || { \
	  command -v pg_ctlcluster >/dev/null && \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start; } || true
	@for i in $$(seq 30); do pg_isready -q -h $(PG_HOST) -p $(PG_PORT) 2>/dev/null && exit 0; sleep 1; done; \
	  echo "PostgreSQL is not reachable on $(PG_HOST):$(PG_PORT); the store tests need it" >&2; exit 1

lint: install-test
	$(VENV)/bin/ruff check .

test: install-test postgres lint
	$(PY) -m pytest -q

bench: install
	$(PY) -m bench.bench_store
	$(PY) -m bench.bench_hub
	$(PY) -m bench.bench_abuse
	$(PY) -m bench.bench_kiosk
	$(PY) -m bench.bench_simulate
	$(PY) -m bench.bench_accuracy
	$(PY) -m bench.bench_balancing
	$(PY) -m bench.bench_reports

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis
