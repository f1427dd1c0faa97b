// `chorus decode`'s renderers are part of the CLI executable, not a library;
// compile them into this test so the vectors check the exact JSON the
// command prints.
#include "cli/decode.cpp"     // NOLINT(bugprone-suspicious-include)
#include "cli/serf_json.cpp"  // NOLINT(bugprone-suspicious-include)
