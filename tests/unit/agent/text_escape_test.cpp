// Escaping of gossiped names and tags for line-oriented text (the CLI's
// tables, event handlers' stdin): issue 18, a newline in a node name split
// `chorus members` output.
#include "agent/text_escape.hpp"

#include <catch2/catch.hpp>

#include "agent/handlers.hpp"

using chorus::agent::escape_text;

TEST_CASE("escape_text leaves printable text alone", "[agent][escape]") {
  CHECK(escape_text("") == "");
  CHECK(escape_text("node-1.example.com role=web, db") == "node-1.example.com role=web, db");
  CHECK(escape_text("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\x9f") ==
        "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\x9f");
}

TEST_CASE("escape_text writes control characters as Go escapes", "[agent][escape]") {
  CHECK(escape_text("a\nb") == "a\\nb");
  CHECK(escape_text("\a\b\f\n\r\t\v") == "\\a\\b\\f\\n\\r\\t\\v");
  CHECK(escape_text(std::string("nul\0x", 5)) == "nul\\x00x");
  CHECK(escape_text("\x01\x1b[31mred\x7f") == "\\x01\\x1b[31mred\\x7f");
  // The backslash too, so that the output is unambiguous.
  CHECK(escape_text("a\\nb") == "a\\\\nb");
  CHECK(escape_text("a\\nb") != escape_text("a\nb"));
}

TEST_CASE("escape_text escapes invisible and line-breaking code points and invalid bytes", "[agent][escape]") {
  using std::string;
  CHECK(escape_text("\xc2\x85") == "\\u0085");                           // NEL, a C1 control
  CHECK(escape_text(string("\xc2\x9b") + "2J") == "\\u009b2J");          // CSI
  CHECK(escape_text(string("a\xe2\x80\xa8") + "b") == "a\\u2028b");      // line separator
  CHECK(escape_text(string("\xe2\x80\xae") + "evil") == "\\u202eevil");  // right-to-left override
  CHECK(escape_text("\xe2\x81\xa6x\xe2\x81\xa9") == "\\u2066x\\u2069");
  CHECK(escape_text("bad\xff") == "bad\\xff");
  CHECK(escape_text("\xe2\x80") == "\\xe2\\x80");           // truncated sequence
  CHECK(escape_text("\xc0\xaf") == "\\xc0\\xaf");           // overlong '/'
  CHECK(escape_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // surrogate
}

TEST_CASE("an event handler reads one line per member whatever the names hold", "[agent][handlers][escape]") {
  chorus::agent::handler_event e;
  e.event = "member-join";
  e.members.push_back({"evil\nfake\t10.0.0.9\r", "127.0.0.1", "we\x1b[2Jb", {{"k", "v\\1"}, {"n\nl", "x"}}});
  e.members.push_back({"ok", "127.0.0.2", "", {}});
  CHECK(chorus::agent::handler_stdin(e) ==
        "evil\\nfake\\t10.0.0.9\\r\t127.0.0.1\twe\\x1b[2Jb\tk=v\\\\1,n\\nl=x\n"
        "ok\t127.0.0.2\t\t\n");
}
