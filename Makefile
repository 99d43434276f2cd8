# gpu-lenet build steps. CI and the Docker image call these same targets.

SHELL := /bin/bash

NVCC ?= nvcc
CXX ?= g++
# Lowest virtual architecture CUDA 13 accepts; the driver JIT-compiles the PTX for newer GPUs.
PTX_ARCH ?= compute_75
NVCC_PTX_FLAGS ?= -ptx -arch=$(PTX_ARCH) -O3 -Werror all-warnings
# nvcc -ptx does not check per-block hardware limits (48 KB of static shared memory, registers);
# the driver's JIT would, at load time on the GPU. Assembling the PTX for the lowest real
# architecture checks them at build time, without a GPU, and -v prints each kernel's usage.
PTXAS ?= ptxas
PTXAS_CHECK_FLAGS ?= -arch=$(subst compute_,sm_,$(PTX_ARCH)) -O3 -o /dev/null
# The GPU build of the native tests embeds PTX for PTX_ARCH, so it runs on any newer GPU.
NVCC_TEST_FLAGS ?= -O2 -std=c++17 -gencode arch=$(PTX_ARCH),code=$(PTX_ARCH) -Werror all-warnings
# No contraction into FMAs: the emulated kernels round every operation, as the CPU backend does.
CXX_EMU_FLAGS ?= -O2 -std=c++17 -fPIC -Wall -Wextra -Werror -ffp-contract=off

KERNEL_SRCS := $(wildcard kernels/*.cu)
KERNEL_HDRS := $(wildcard kernels/*.cuh)
PTX_DIR := src/main/resources/kernels
PTX := $(patsubst kernels/%.cu,$(PTX_DIR)/%.ptx,$(KERNEL_SRCS))

NT := native-tests
NT_BUILD := $(NT)/build
EMU_HDRS := $(NT)/emu/cuda_emu.h
NT_HDRS := $(NT)/harness.h $(EMU_HDRS)
KERNEL_TESTS := $(wildcard $(NT)/test_*.cu)
EMU_TEST_BINS := $(patsubst $(NT)/%.cu,$(NT_BUILD)/emu/%,$(KERNEL_TESTS)) $(NT_BUILD)/emu/test_emu \
                 $(NT_BUILD)/emu/test_emu_lib
GPU_TEST_BINS := $(patsubst $(NT)/%.cu,$(NT_BUILD)/gpu/%,$(KERNEL_TESTS))
EMU_LIB := $(NT_BUILD)/libgpulenet_emu.so

MVN ?= mvn -B -q
# Tests print Surefire's summary, so a run that tested nothing is visible.
MVN_TEST ?= mvn -B -ntp
JAR := target/gpu-lenet.jar

.PHONY: run test jar bench docker docker-test kernels check-ptx native-test native-test-emu native-test-gpu \
        native-test-gpu-build emu-lib

# The main job: build the jar and train with the defaults (GPU when usable, else CPU).
run: jar
	java -jar $(JAR) train

# Everything CI checks: committed PTX is current, every kernel against its C++ reference
# (on the GPU or emulated), then every Java test (the CUDA backend's on the emulated kernels).
test: check-ptx native-test emu-lib
	$(MVN_TEST) test

# The runnable jar. With nvcc the PTX is compiled from kernels/ first (the Docker image relies on
# this); without it the committed PTX is packaged.
jar:
	@if command -v $(NVCC) >/dev/null 2>&1; then $(MAKE) --no-print-directory kernels; \
	else echo "jar: $(NVCC) not found, packaging the committed PTX"; fi
	$(MVN) package -DskipTests

# CPU-vs-GPU timing of one MNIST epoch at several batch sizes, of LeNet-5 or of the presets MODELS names
# (MODELS=lenet5,cnn3: each with its own set-up); with TORCH=1 (python3 with torch installed, or
# TORCH_PYTHON=/path/to/python) the project's PyTorch reference script runs the same jobs alternately and
# the table gains the ratio; TORCH_LENET=path/to/script.py does the same with another script that takes the
# same flags.
TORCH_REFERENCE := src/main/python/torch_reference.py
TORCH ?=
TORCH_LENET ?=
TORCH_PYTHON ?= python3
MODELS ?=
PYTORCH_SCRIPT = $(or $(TORCH_LENET),$(if $(TORCH),$(TORCH_REFERENCE)))
bench: jar
	java -jar $(JAR) bench --batch-sizes 64,256,1024 $(if $(MODELS),--model $(MODELS)) \
	  $(if $(PYTORCH_SCRIPT),--pytorch "$(TORCH_PYTHON) $(PYTORCH_SCRIPT)")

# The image (docker/Dockerfile) with docker or podman, whichever works here; see the README's Docker section.
docker:
	docker/build.sh >/dev/null

# Builds the image, then runs the jar's commands in it without a GPU (minutes; root where podman or mmdebstrap
# must be installed). Not part of `make test`.
docker-test:
	docker/test.sh

kernels: $(PTX)

$(PTX_DIR)/%.ptx: kernels/%.cu $(KERNEL_HDRS)
	@mkdir -p $(PTX_DIR)
	$(NVCC) $(NVCC_PTX_FLAGS) -o $@ $<
	$(PTXAS) $(PTXAS_CHECK_FLAGS) -v $@ || { rm -f $@; exit 1; }

# Fails when the committed PTX is not what the .cu files compile to. Comment lines (the compiler's
# banner) are ignored; a different nvcc release than the one that wrote the PTX is reported and skipped,
# since its PTX legitimately differs.
check-ptx:
	@if ! command -v $(NVCC) >/dev/null 2>&1; then echo "check-ptx: $(NVCC) not found, skipped"; exit 0; fi; \
	release=$$($(NVCC) --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'); \
	tmp=$$(mktemp -d); status=0; \
	for src in $(KERNEL_SRCS); do \
	  name=$$(basename $$src .cu); committed=$(PTX_DIR)/$$name.ptx; \
	  if [ ! -f $$committed ]; then echo "check-ptx: $$committed missing (run make kernels)"; status=1; continue; fi; \
	  if ! $(PTXAS) $(PTXAS_CHECK_FLAGS) $$committed; then \
	    echo "check-ptx: $$committed exceeds a GPU limit (ptxas above): it would fail to load"; status=1; fi; \
	  if ! grep -q "release $$release," $$committed; then \
	    echo "check-ptx: $$committed was written by another nvcc release than $$release, skipped"; continue; fi; \
	  $(NVCC) $(NVCC_PTX_FLAGS) -o $$tmp/$$name.ptx $$src || { status=1; continue; }; \
	  if ! diff <(grep -v '^//' $$committed) <(grep -v '^//' $$tmp/$$name.ptx) >/dev/null; then \
	    echo "check-ptx: $$committed is stale: run make kernels and commit it"; status=1; fi; \
	done; \
	rm -rf $$tmp; \
	if ! awk '$(PTX_ACQUIRE_CHECK)' $(PTX); then status=1; fi; \
	if [ $$status = 0 ]; then echo "check-ptx: committed PTX is current"; fi; exit $$status

# The "last block" patterns (a tally of finished blocks counted with an atomic): the block whose atomic
# returns the final count must fence before it reads what the other blocks wrote (acquire), so in the PTX
# every global atomic's branch is followed by a membar.gl within a few lines.
PTX_ACQUIRE_CHECK := /atom\.global/ { pending = FILENAME ":" FNR; left = 6; next } \
  pending && /membar\.gl|fence\./ { pending = "" } \
  pending && --left == 0 { print "check-ptx: " pending ": no fence after the atomic (acquire)"; bad = 1; pending = "" } \
  END { exit bad }

# Runs each test program of a build ($1: its name, $2: the programs) and counts them.
define run-native-tests
passed=0; failed=0; for t in $2; do echo "== $$t"; if $$t; then passed=$$((passed+1)); else failed=$$((failed+1)); fi; done; \
echo "native-test ($1 build): $$passed passed, $$failed failed"; [ $$failed = 0 ]
endef

# The GPU build when a GPU is usable, the emulated build otherwise.
native-test:
	@if nvidia-smi -L >/dev/null 2>&1; then \
	  echo "native-test: GPU found, running the nvcc build on the GPU"; $(MAKE) --no-print-directory native-test-gpu; \
	else \
	  echo "native-test: no usable GPU, running the emulated (g++) build"; $(MAKE) --no-print-directory native-test-emu; \
	fi

native-test-emu: $(EMU_TEST_BINS)
	@$(call run-native-tests,emulated,$(EMU_TEST_BINS))

native-test-gpu-build: $(GPU_TEST_BINS)

native-test-gpu: $(GPU_TEST_BINS)
	@$(call run-native-tests,GPU,$(GPU_TEST_BINS))

$(NT_BUILD)/emu/emu.o: $(NT)/emu/emu.cpp $(EMU_HDRS)
	@mkdir -p $(@D)
	$(CXX) $(CXX_EMU_FLAGS) -c -o $@ $<

$(NT_BUILD)/emu/test_emu: $(NT)/test_emu.cpp $(NT_HDRS) $(NT_BUILD)/emu/emu.o
	$(CXX) $(CXX_EMU_FLAGS) -o $@ $< $(NT_BUILD)/emu/emu.o

$(NT_BUILD)/emu/test_emu_lib: $(NT)/test_emu_lib.cpp $(NT_HDRS) $(EMU_LIB)
	$(CXX) $(CXX_EMU_FLAGS) -o $@ $< -L$(NT_BUILD) -lgpulenet_emu -Wl,-rpath,'$$ORIGIN/..'

$(NT_BUILD)/emu/test_%: $(NT)/test_%.cu kernels/%.cu $(KERNEL_HDRS) $(NT_HDRS) $(NT_BUILD)/emu/emu.o
	$(CXX) $(CXX_EMU_FLAGS) -x c++ $< -x none $(NT_BUILD)/emu/emu.o -o $@

$(NT_BUILD)/gpu/test_%: $(NT)/test_%.cu kernels/%.cu $(KERNEL_HDRS) $(NT)/harness.h
	@mkdir -p $(@D)
	$(NVCC) $(NVCC_TEST_FLAGS) -o $@ $<

emu-lib: $(EMU_LIB)

$(EMU_LIB): $(NT)/emu/emu_lib.cpp $(NT_BUILD)/emu/emu.o $(KERNEL_SRCS) $(KERNEL_HDRS) $(EMU_HDRS)
	$(CXX) $(CXX_EMU_FLAGS) -shared -o $@ $< $(NT_BUILD)/emu/emu.o

# ---- The GPU path measured without a GPU, and the prepared check for a GPU machine ----

.PHONY: host-cost device-bundle gpu-report gpu-report-rehearsal

NULL_CUDA_DIR := $(NT_BUILD)/null-cuda
DEVICE_BUNDLE := device-bundle
BUNDLE_MAX_MIB ?= 60

# The GPU path's host cost: `train --device cuda` on the no-op CUDA driver that native-tests/null-cuda builds
# into $(NULL_CUDA_DIR); prints per warm step the host microseconds (wall, and CPU of the training thread),
# kernel launches, graph launches, GEMMs and synchronisations. Host cost only: no kernel runs.
# RUNS, EPOCHS, BATCH, GEMM (auto|cublas|kernel), GRAPH (1, or 0 for --no-graph) and HOST_COST_JSON=FILE are passed on.
host-cost: jar
	NULL_CUDA_DIR=$(NULL_CUDA_DIR) JAR=$(JAR) bash $(NT)/host-cost.sh

# Everything native-tests/gpu-report.sh needs on a GPU machine without Java or a network, in $(DEVICE_BUNDLE)/
# (at most BUNDLE_MAX_MIB MiB): a jlink'd runtime, the jar, the PyTorch reference script, the kernel tests' sources.
device-bundle: jar
	JAR=$(JAR) NVCC_TEST_FLAGS="$(NVCC_TEST_FLAGS)" BUNDLE_MAX_MIB=$(BUNDLE_MAX_MIB) bash $(NT)/device-bundle.sh $(DEVICE_BUNDLE)

# On the GPU machine (nvcc and PyTorch; no Java needed): the whole report into $(OUT) (default gpu-report/), as
# gpu-report.json and gpu-report.log, within BUDGET_S seconds (default 450). $(DEVICE_BUNDLE)/ is ignored by git,
# so a copy of the working tree lacks it unless it is carried: build it here (make device-bundle), then on the
# GPU machine run `bash $(DEVICE_BUNDLE)/gpu-report.sh` (OUT=dir) with $(DEVICE_BUNDLE) carried along.
OUT ?= $(CURDIR)/gpu-report
gpu-report:
	@test -f $(DEVICE_BUNDLE)/gpu-report.sh || { echo "gpu-report: $(DEVICE_BUNDLE)/ is missing. It is ignored by git:" \
	  "run make device-bundle where a JDK is, then on the GPU machine run" \
	  "'OUT=dir bash $(DEVICE_BUNDLE)/gpu-report.sh' with $(DEVICE_BUNDLE)/ carried to it"; exit 2; }
	OUT=$(OUT) bash $(DEVICE_BUNDLE)/gpu-report.sh

# The report end to end without a GPU: the bundle, run on null-cuda (JCuda's natives load the no-op driver, so
# every Java step runs its real launch sequence with kernels that do nothing), then its JSON checked: every
# step ran or was skipped for a requirement the pre-flight named, every section is there, the per-kernel
# profile has windows and launch counts. NVCC= (default none) lets the native tests' step run too (slow here).
REHEARSAL_OUT := $(NT_BUILD)/gpu-report-rehearsal
REHEARSAL_NVCC ?= none
gpu-report-rehearsal: device-bundle
	bash $(NT)/null-cuda/build.sh $(NULL_CUDA_DIR) $(JAR)
	rm -rf $(REHEARSAL_OUT)
	LD_LIBRARY_PATH=$(CURDIR)/$(NULL_CUDA_DIR) CUDNN_DIR=$(CURDIR)/$(NULL_CUDA_DIR) OUT=$(REHEARSAL_OUT) \
	  NVCC=$(REHEARSAL_NVCC) LIMIT_SCALE=3 BUDGET_S=1800 \
	  bash $(DEVICE_BUNDLE)/gpu-report.sh
	python3 $(NT)/gpu-report-check.py $(REHEARSAL_OUT)/gpu-report.json
