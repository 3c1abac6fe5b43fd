# Kernel-patch regression harness. `make demo` runs the main job, `make test` the whole suite.
# Both install what they need first (apt packages, NuGet restore). Run as root: loop mounts.
SHELL := /bin/bash
CONFIG ?= Release
CACHE ?= $(CURDIR)/.cache
export HARNESS_CACHE := $(CACHE)
DOTNET ?= dotnet
HARNESS := harness/src/Harness.Cli/bin/$(CONFIG)/net10.0/harness
AGENT_AOT := $(CACHE)/agent/harness-agent
# Debian packages the harness drives: libaio for the agent, mkfs for each filesystem,
# filefrag (e2fsprogs) for fault injection, fio as the reference tool.
APT_PACKAGES := libaio1 e2fsprogs xfsprogs btrfs-progs ocfs2-tools f2fs-tools util-linux mount fio jq clang zlib1g-dev kmod cpio busybox-static qemu-system-x86 xz-utils zstd git build-essential bc bison flex libelf-dev libssl-dev ccache

.PHONY: all deps build agent-aot test demo bench clean help

all: build

help:
	@echo "make demo   - run the seed case on the host kernel over ext4, xfs and btrfs loop images"
	@echo "make test   - install what is missing, build, publish the NativeAOT agent, run every test"
	@echo "make bench  - harness seed case vs fio running the same job, side by side"
	@echo "make deps   - apt-get install the packages the harness needs (only missing ones)"
	@echo "make clean  - remove build outputs (keeps $(CACHE))"

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install $$missing" >&2; exit 2; fi; \
	  (apt-get update -q || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

build:
	$(DOTNET) build Harness.sln -c $(CONFIG) -nologo -v q

# The agent must stay NativeAOT-clean: it runs alone inside a guest's initramfs.
agent-aot: build
	$(DOTNET) publish harness/src/Harness.Agent -c $(CONFIG) -r linux-x64 -nologo -v q -o $(CACHE)/agent

test: deps agent-aot
	HARNESS_AGENT_AOT=$(AGENT_AOT) $(DOTNET) test Harness.sln -c $(CONFIG) --no-build -nologo -v q --logger "console;verbosity=normal"

demo: deps build
	$(HARNESS) run --machine local --fs ext4,xfs,btrfs --case seed

bench: deps agent-aot
	bench/run-bench.sh $(HARNESS) $(AGENT_AOT)

clean:
	$(DOTNET) clean Harness.sln -c $(CONFIG) -nologo -v q
