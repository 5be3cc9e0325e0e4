# Runtime integration tests: streaming, out-of-core spilling, agreed failure, input formats.
TESTS += \
	tests/runtime/stream.sh \
	tests/runtime/spill.sh \
	tests/runtime/fault.sh
EXTRA_DIST += \
	tests/runtime/stream.sh \
	tests/runtime/spill.sh \
	tests/runtime/fault.sh
