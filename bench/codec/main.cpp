// chorus-codec-bench: how many gossip messages per second one core encodes
// and decodes, for a typical UDP gossip packet and a 50-node push/pull, with
// each packet layer on and off.
//
//   chorus-codec-bench [seconds-per-case]     (default 0.5)
//
// Single-threaded; every case is warmed up once, then run in batches until
// it has used its share of this thread's CPU time. "msgs/s" counts memberlist messages (packet case) or node
// states (push/pull case).
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "swim/codec.hpp"
#include "swim/keyring.hpp"
#include "swim/packet.hpp"
#include "swim/stream.hpp"

using namespace chorus::swim;

namespace {

volatile std::size_t sink = 0;  // keeps the optimiser honest

bytes tags_meta(const std::string& role) {
  // 0xff + {"dc": "east", "role": role}, what a Serf node with two tags sends.
  bytes m{0xff, 0x82, 0xa2, 'd', 'c', 0xa4, 'e', 'a', 's', 't', 0xa4, 'r', 'o', 'l', 'e'};
  m.push_back(static_cast<std::uint8_t>(0xa0 | role.size()));
  m.insert(m.end(), role.begin(), role.end());
  return m;
}

alive alive_for(int i) {
  alive a;
  a.incarnation = static_cast<std::uint32_t>(1 + i % 3);
  a.node = "node-" + std::to_string(i);
  a.addr = {10, 0, static_cast<std::uint8_t>(i / 256), static_cast<std::uint8_t>(i % 256)};
  a.port = 7946;
  a.meta = tags_meta(i % 2 ? "web" : "db");
  a.vsn = {1, 5, 2, 2, 5, 5};
  return a;
}

// A gossip round's packet as the captures show them: a ping with piggybacked
// alives, a suspect and two Serf user messages (event, join intent).
std::vector<message> typical_packet() {
  std::vector<message> m;
  ping p;
  p.seq_no = 4242;
  p.node = "node-7";
  p.source_addr = {10, 0, 0, 1};
  p.source_port = 7946;
  p.source_node = "node-1";
  m.push_back(p);
  for (int i = 0; i < 3; ++i) m.push_back(alive_for(i));
  suspect s;
  s.incarnation = 3;
  s.node = "node-9";
  s.from = "node-1";
  m.push_back(s);
  // Serf userEvent {CC, LTime, Name, Payload} and join {LTime, Node}, encoded.
  m.push_back(user{{0x03, 0x84, 0xa2, 'C', 'C',  0xc3, 0xa5, 'L', 'T', 'i', 'm', 'e',  0x02, 0xa4,
                    'N',  'a',  'm',  'e', 0xa6, 'd',  'e',  'p', 'l', 'o', 'y', 0xa7, 'P',  'a',
                    'y',  'l',  'o',  'a', 'd',  0xa6, 'v',  '1', '.', '2', '.', '3'}});
  m.push_back(user{
      {0x01, 0x82, 0xa5, 'L', 'T', 'i', 'm', 'e', 0x05, 0xa4, 'N', 'o', 'd', 'e', 0xa6, 'n', 'o', 'd', 'e', '-', '4'}});
  return m;
}

push_pull state_of(int n) {
  push_pull pp;
  pp.join = false;
  for (int i = 0; i < n; ++i) {
    const alive a = alive_for(i);
    push_node_state s;
    s.name = a.node;
    s.addr = a.addr;
    s.port = a.port;
    s.meta = a.meta;
    s.incarnation = a.incarnation;
    s.state = i % 10 == 9 ? node_state::left : node_state::alive;
    s.vsn = a.vsn;
    pp.nodes.push_back(s);
  }
  // Serf's push/pull user state: 512-slot event buffer, mostly nil (~600 B + names).
  pp.user_state.assign(600 + 8 * static_cast<std::size_t>(n), 0xc0);
  return pp;
}

// CPU time of this thread: the figure stays meaningful on a loaded machine
// (other processes steal wall time, not our CPU time).
double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <class F>
double per_second(double seconds, F&& f) {
  f();  // warm-up
  std::size_t runs = 0, batch = 16;
  const double start = thread_cpu_seconds();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (std::size_t i = 0; i < batch; ++i) f();
    runs += batch;
    elapsed = thread_cpu_seconds() - start;
    if (elapsed < seconds / 4) batch *= 2;
  }
  return static_cast<double>(runs) / elapsed;
}

void row(const char* what, std::size_t wire_len, double ops, std::size_t msgs_per_op) {
  std::printf("| %-44s | %6zu | %12.0f | %14.0f | %8.2f |\n", what, wire_len, ops,
              ops * static_cast<double>(msgs_per_op), 1e9 / ops / 1000.0);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 0.5;
  keyring keys;
  if (std::string e = keys.install(bytes(32, 0x42)); !e.empty()) {
    std::fprintf(stderr, "keyring: %s\n", e.c_str());
    return 1;
  }

  std::printf("| case | bytes | ops/s | msgs/s | µs/op |\n|---|---:|---:|---:|---:|\n");

  const auto msgs = typical_packet();
  struct udp_case {
    const char* name;
    seal_options so;
  };
  seal_options plain, crc, crc_lzw, crc_aes;
  crc.crc = true;
  crc_lzw.crc = true;
  crc_lzw.compress = true;
  crc_aes.crc = true;
  crc_aes.keys = &keys;
  const udp_case udp_cases[] = {{"plain", plain}, {"CRC", crc}, {"CRC + LZW", crc_lzw}, {"CRC + AES-GCM", crc_aes}};
  for (const auto& c : udp_cases) {
    const bytes wire = seal_messages(msgs, c.so).data;
    open_options oo;
    oo.keys = c.so.keys;
    const std::string enc = std::string("gossip packet (7 msgs) encode, ") + c.name;
    const std::string dec = std::string("gossip packet (7 msgs) decode, ") + c.name;
    row(enc.c_str(), wire.size(), per_second(seconds, [&] { sink = sink + seal_messages(msgs, c.so).data.size(); }),
        msgs.size());
    row(dec.c_str(), wire.size(), per_second(seconds, [&] { sink = sink + open(wire, oo).messages.size(); }),
        msgs.size());
  }

  const push_pull pp = state_of(50);
  struct tcp_case {
    const char* name;
    stream_options so;
  };
  stream_options s_plain, s_lzw, s_aes;
  s_lzw.compress = true;
  s_aes.compress = true;
  s_aes.keys = &keys;
  const tcp_case tcp_cases[] = {{"plain", s_plain}, {"LZW", s_lzw}, {"LZW + AES-GCM", s_aes}};
  for (const auto& c : tcp_cases) {
    const stream_message m = pp;
    const bytes wire = encode_stream(m, c.so).data;
    stream_open_options oo;
    oo.keys = c.so.keys;
    const std::string enc = std::string("push/pull 50 nodes encode, ") + c.name;
    const std::string dec = std::string("push/pull 50 nodes decode, ") + c.name;
    row(enc.c_str(), wire.size(), per_second(seconds, [&] { sink = sink + encode_stream(m, c.so).data.size(); }),
        pp.nodes.size());
    row(dec.c_str(), wire.size(), per_second(seconds, [&] { sink = sink + decode_stream(wire, oo).consumed; }),
        pp.nodes.size());
  }
  return sink == 0xdeadbeef ? 2 : 0;
}
