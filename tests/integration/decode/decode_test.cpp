// `chorus decode` as a user runs it: the built binary on captured packets
// and streams, checking the JSON it prints and its exit code.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using json = nlohmann::json;

namespace {

const std::string binary = CHORUS_BINARY_DIR "/src/cli/chorus";
const std::string vectors = CHORUS_SHARED_DIR "/vectors/";
const std::string key1 = "DsztwYCZBvF2KY/IXNPZ2VtxassyUTpsQCx9KE7j1Z8=";
const std::string key2 = "VoAKmReXp44hzyMgK5QjFvcN5ofAIy0tznI+9schODo=";

struct run_result {
  int exit_code = -1;
  std::string out;
};

// Runs `chorus <args>`, optionally feeding `stdin_text` through a file.
run_result run(const std::string& args, const std::string& stdin_text = "") {
  std::string cmd = binary + " " + args;
  if (!stdin_text.empty()) {
    const std::string in_path = CHORUS_BINARY_DIR "/decode_test_stdin.txt";
    std::ofstream(in_path) << stdin_text;
    cmd += " < " + in_path;
  }
  run_result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

json line_of(const std::string& file, std::size_t index) {
  std::ifstream in(vectors + file);
  std::string text;
  for (std::size_t i = 0; std::getline(in, text); ++i)
    if (i == index) return json::parse(text);
  FAIL("no line " << index << " in " << file);
  return {};
}

}  // namespace

TEST_CASE("decode prints every layer and message of a CRC-wrapped compound gossip packet") {
  const json v = line_of("memberlist-compound.jsonl", 0);  // hasCrc/compound alive alive user:join
  auto r = run("decode " + v["packet_hex"].get<std::string>());
  REQUIRE(r.exit_code == 0);
  const json d = json::parse(r.out);
  CHECK(d["transport"] == "udp");
  REQUIRE(d["layers"].size() == 2);
  CHECK(d["layers"][0]["name"] == "hasCrc");
  CHECK(d["layers"][0]["crc_ok"] == true);
  CHECK(d["layers"][1]["lengths"] == json::array({77, 68, 18}));
  REQUIRE(d["messages"].size() == 3);
  CHECK(d["messages"][0]["path"] == "hasCrc/compound[0]/alive");
  CHECK(d["messages"][0]["decoded"]["Meta"]["tags"] == json{{"dc", "east"}, {"role", "web"}});
  CHECK(d["messages"][0]["decoded"]["Addr"]["ip"] == "127.77.0.1");
  CHECK(d["messages"][2]["decoded"]["serf"]["serf_name"] == "join");
  CHECK(d["messages"][2]["decoded"]["serf"]["body"]["Node"] == "n2");
}

TEST_CASE("decode opens an encrypted packet with the right key and says what to do without one") {
  const json v = line_of("memberlist-encrypted-udp.jsonl", 0);
  const std::string hex = v["packet_hex"];
  auto r = run("decode --key " + key2 + " --key " + key1 + " " + hex);
  REQUIRE(r.exit_code == 0);
  const json d = json::parse(r.out);
  CHECK(d["encryption"]["version"] == 1);
  CHECK(d["encryption"]["key"] == key1);
  CHECK(d["encryption"]["key_index"] == 1);
  CHECK(d["encryption"]["overhead"] == 29);
  CHECK(d["plaintext_hex"] == v["plaintext_hex"]);
  CHECK(d["messages"].size() == 2);

  auto bare = run("decode " + hex);
  CHECK(bare.exit_code == 1);
  const json e = json::parse(bare.out);
  CHECK(e.contains("error"));
  CHECK(e["hint"].get<std::string>().find("--key") != std::string::npos);

  auto wrong = run("decode --key " + key2 + " " + hex);
  CHECK(wrong.exit_code == 1);
  CHECK(json::parse(wrong.out)["error"]["what"].get<std::string>().find("decrypt") != std::string::npos);
}

TEST_CASE("decode --stream reads an encrypted compressed push/pull from stdin") {
  const json v = line_of("memberlist-pushpull-tcp.jsonl", 4);  // encrypted push/pull join
  REQUIRE(v["kind"] == "encrypted push/pull join");
  auto r = run("decode --stream --key " + key1 + " -", v["server_to_client_hex"].get<std::string>() + "\n");
  REQUIRE(r.exit_code == 0);
  const json d = json::parse(r.out);
  CHECK(d["transport"] == "tcp");
  CHECK(d["encrypt"]["length_field"] == 263);
  CHECK(d["compress"]["Buf_len"] == 219);
  CHECK(d["name"] == "pushPull");
  CHECK(d["header"] == json{{"Join", true}, {"Nodes", 1}, {"UserStateLen", 586}});
  CHECK(d["nodes"][0]["Name"] == "n1");
  CHECK(d["nodes"][0]["Meta"]["tags"]["role"] == "web");
  CHECK(d["user_state"]["serf_name"] == "pushPull");
  CHECK(d["user_state"]["body"]["Events"]["array_len"] == 512);
}

TEST_CASE("decode --stream shows a gossip message sent on a stream, with a note, not an error") {
  // A suspect sent over TCP (shared vector memberlist-err-tcp.jsonl):
  // memberlist answers it with an error message; decode shows what it was.
  auto s = run("decode --stream 0383ab496e6361726e6174696f6e01a44e6f6465a178a446726f6da179");
  CHECK(s.exit_code == 0);
  const json d = json::parse(s.out);
  CHECK(d["name"] == "suspect");
  CHECK(d["decoded"]["Node"] == "x");
  CHECK(d["decoded"]["From"] == "y");
  CHECK(d["note"].get<std::string>().find("not valid on a stream") != std::string::npos);
  CHECK_FALSE(d.contains("error"));
}

TEST_CASE("decode reports where undecodable input broke and exits 1") {
  // A ping whose body is cut after the map header.
  auto r = run("decode 0085a44e6f6465");
  CHECK(r.exit_code == 1);
  const json d = json::parse(r.out);
  CHECK(d["error"]["what"].get<std::string>().find("ping") != std::string::npos);
  CHECK(d["messages"].empty());

  auto t = run("decode 0702003d00ff0085");  // compound whose parts are cut
  CHECK(t.exit_code == 1);
  const json c = json::parse(t.out);
  CHECK(c["layers"][0]["truncated"] == 2);
  CHECK(c["part_errors"].size() == 1);

  // A stream whose message type is unknown: nothing to show.
  auto u = run("decode --stream 63");
  CHECK(u.exit_code == 1);
  CHECK(json::parse(u.out)["error"]["what"].get<std::string>().find("unexpected stream message type 99") !=
        std::string::npos);

  CHECK(run("decode nothex 2>/dev/null").exit_code == 1);
}
