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

run: build
	@mkdir -p etc/run
	@echo ""
	@echo "vaned is starting on 127.0.0.1:5300 with etc/vaned.conf.  Try, in another shell:"
	@echo "  dig @127.0.0.1 -p 5300 www.example.com A"
	@echo "  kdig @127.0.0.1 -p 5300 example.com SOA +tcp"
	@echo "  dig @127.0.0.1 -p 5300 api.example.com A +subnet=198.51.100.0/24   # a steered name"
	@echo "  $(BUILD)/vanectl -c etc/vaned.conf status"
	@echo "  $(BUILD)/vanectl -c etc/vaned.conf health"
	@echo "  $(BUILD)/vanectl -c etc/vaned.conf explain api.example.com A --client 192.0.2.1"
	@echo "Stop with Ctrl-C."
	@echo ""
	exec $(BUILD)/vaned -c etc/vaned.conf

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
