# Thin wrapper over meson; see README.md.
BUILD ?= build
ASAN_BUILD ?= build-asan
MESON ?= meson
PY ?= /usr/bin/python3
PREFIX ?= /usr/local

.PHONY: all deps build run test unit integration bench fuzz clean install

all: build

deps:
	@sh scripts/deps.sh

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The example's health checks probe 127.0.0.1:8080 (us-east) and
# 127.0.0.2:8080 (eu-west): small local HTTP backends answer there for as
# long as vaned runs (scripts/example-backends.py leaves with this shell).
BACKENDS = $(PY) scripts/example-backends.py --dir run/backends
run: build
	@mkdir -p etc/run run
	@echo ""
	@echo "vaned is starting on 127.0.0.1:5300 with etc/vaned.conf, with HTTP backends"
	@echo "for us-east (127.0.0.1:8080) and eu-west (127.0.0.2:8080).  Try, in another shell:"
	@echo "  dig @127.0.0.1 -p 5300 api.example.com A +subnet=198.51.100.0/24   # a steered name"
	@echo "  $(BUILD)/vanectl -c etc/vaned.conf health                  # all up"
	@echo "  $(BUILD)/vanectl -c etc/vaned.conf drain api.example.com/us-east"
	@echo "  $(BUILD)/vanectl -c etc/vaned.conf undrain api.example.com/us-east"
	@echo "  $(BACKENDS) kill eu-west      # eu-west's backend dies: down in ~4 s"
	@echo "  $(BACKENDS) revive eu-west    # back up, then a recovery ramp"
	@echo "  $(BUILD)/vanectl -c etc/vaned.conf explain api.example.com A --client 192.0.2.1"
	@echo "  dig @127.0.0.1 -p 5300 www.example.com A"
	@echo "Stop with Ctrl-C."
	@echo ""
	@$(BACKENDS) us-east=127.0.0.1:8080 eu-west=127.0.0.2:8080 & \
	 trap 'kill $$! 2>/dev/null' EXIT; \
	 $(BUILD)/vaned -c etc/vaned.conf

# Unit, sanitizer, integration and fuzz-corpus runs; ends with one summary line.
test: deps
	@sh tests/run.sh

bench: build
	@sh bench/run.sh

fuzz: deps
	@sh fuzz/run.sh $(FUZZ_SECONDS)

# make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage]: binaries to
# $PREFIX/sbin, man pages, the systemd unit and sysusers entry under
# $PREFIX/lib, the sample config and docs to $PREFIX/share/doc/vane.
install: build
	$(MESON) configure $(BUILD) -Dprefix=$(PREFIX)
	ninja -C $(BUILD)
	DESTDIR=$(DESTDIR) $(MESON) install -C $(BUILD) --no-rebuild

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
