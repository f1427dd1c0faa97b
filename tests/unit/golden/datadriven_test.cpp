// The transcript format itself (datadriven.hpp): what a rewrite keeps and
// what it replaces, so regenerating a transcript never loses its comments.
#include "datadriven.hpp"

#include <catch2/catch.hpp>

using golden::transcript;

TEST_CASE("a transcript parses into commands, arguments, input and expected lines", "[golden][format]") {
  const auto t = transcript::parse(
      "# comment\n"
      "push-pull-done n1 fail about=n2\n"
      "n1 alive inc=2\n"
      "----\n"
      "t=0ms one\n"
      "t=0ms two\n"
      "\n"
      "health\n"
      "----\n");
  REQUIRE(t.directives().size() == 2);
  const auto& d = t.directives()[0];
  CHECK(d.command == "push-pull-done");
  CHECK(d.positional == std::vector<std::string>{"n1", "fail"});
  CHECK(d.arg("about") == "n2");
  CHECK(d.input == std::vector<std::string>{"n1 alive inc=2"});
  CHECK(d.expected == std::vector<std::string>{"t=0ms one", "t=0ms two"});
  CHECK(d.line == 2);
  CHECK(t.directives()[1].expected.empty());
  CHECK_THROWS(transcript::parse("health\nno separator\n"));
}

TEST_CASE("a rewrite replaces only the expected sections and keeps comments and commands", "[golden][format]") {
  const std::string text =
      "# why\n"
      "advance 1s\n"
      "----\n"
      "t=1000ms old\n"
      "\n"
      "# and why this\n"
      "health\n"
      "----\n"
      "t=1000ms health=3";  // the last section may end the file without a newline
  const auto t = transcript::parse(text);
  CHECK(t.rewrite({{"t=1000ms new", "t=1000ms newer"}, {}}) ==
        "# why\n"
        "advance 1s\n"
        "----\n"
        "t=1000ms new\n"
        "t=1000ms newer\n"
        "\n"
        "# and why this\n"
        "health\n"
        "----\n");
  // Rewriting with what is there gives the file back (with a final newline).
  CHECK(t.rewrite({{"t=1000ms old"}, {"t=1000ms health=3"}}) == text + "\n");
}
