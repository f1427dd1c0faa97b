// A JSON config file (-config-file, each *.json of -config-dir) merged into
// the defaults and validated, as load_config does for every file and on
// SIGHUP. Properties: no crash, UB or hang; a refused document leaves an
// error message; merging a document that was accepted a second time into
// its own result is accepted again (no state a first merge leaves behind
// makes the same file fail on reload).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/config.hpp"

using namespace chorus::agent;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  agent_config c;
  const std::string e = merge_json(c, text, "fuzz.json");
  if (!e.empty()) return 0;
  (void)validate(c);
  agent_config twice = c;
  if (!merge_json(twice, text, "fuzz.json").empty()) std::abort();
  return 0;
}
