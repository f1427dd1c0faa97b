#pragma once
// Go structs on the msgpack wire, each declared once as a table of fields.
//
// go-msgpack writes a struct as a map of its fields in declaration order
// (Serf's structs, and so ours, keep the keys sorted) and reads a map in any
// key order, skipping unknown keys and leaving missing ones at the zero
// value. Serf's gossip (agent/serf/codec.cpp) and its RPC (rpc/protocol.cpp)
// are made of such structs, so each struct states its wire keys once, in a
// table, and one writer and one reader walk every table:
//
//   constexpr auto tables = std::tuple{
//       msgpack::table<event_request>(field("Coalesce", &event_request::coalesce),
//                                     field("Name", &event_request::name),
//                                     field("Payload", &event_request::payload)),
//       ...};
//   template <msgpack::listed<decltype(tables)> S>  // in the structs' namespace
//   constexpr const auto& wire_fields(std::type_identity<S>) { return msgpack::table_of<S>(tables); }
//
//   msgpack::write_struct(w, v);                  // {Coalesce, Name, Payload}
//   std::string e = msgpack::read_struct(in, v);  // "" or what the first bad field was
//
// wire_fields is found by argument-dependent lookup, so a struct that holds
// another described struct (a vector of members, an optional coordinate)
// needs nothing more: the codecs below recurse into it.
//
// How one member goes on the wire is its codec: codec<T> by default (Go's
// encoding of that type, read with Go's lenient rules: see as_uint etc. in
// msgpack.hpp), or one that the field names where Serf writes a value
// differently from its type's default (nil for an empty slice, a Lamport
// time with an upper bound). A codec is a type with
//   static void write(writer&, const T&);
//   static bool read(const value& v, T& out, std::string& why);
// read() is given the value under the key (nil included) and returns false
// on a mismatch. It sets `why` only to replace the reader's own message
// "field <key> has the wrong type or is out of range" (a nested struct
// passes its inner error up this way).
#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "swim/msgpack.hpp"

namespace chorus::msgpack {

// ---------------------------------------------------------------------------
// Tables and their walkers.

template <class S, class... F>
void write_fields(writer& w, const S& s, const std::tuple<F...>& table) {
  w.map_header(sizeof...(F));
  std::apply([&](const F&... f) { (f.write(w, s), ...); }, table);
}

// Reads the keys `in` has; a field whose key is absent keeps its value. ""
// on success, else the first failure (the fields after it are not read).
template <class S, class... F>
std::string read_present_fields(const value& in, S& s, const std::tuple<F...>& table) {
  struct_reader r(in);  // refuses what is neither a map nor nil
  std::string why;
  if (r.ok()) std::apply([&](const F&... f) { (f.read(r, s, why) && ...); }, table);
  return why.empty() ? r.error() : why;
}

// Go's rule: a field whose key is absent gets its zero value, whatever the
// C++ default (an event request's Coalesce reads false, not true).
template <class S, class... F>
std::string read_fields(const value& in, S& s, const std::tuple<F...>& table) {
  std::apply([&](const F&... f) { (f.zero(s), ...); }, table);
  return read_present_fields(in, s, table);
}

// The fields of a group (see group() below).
template <class... F>
constexpr std::tuple<F...> fields(F... f) {
  return {f...};
}

// The table of struct S: its fields in wire order.
template <class S, class... F>
struct struct_table {
  using struct_type = S;
  std::tuple<F...> fields;
};

template <class S, class... F>
constexpr struct_table<S, F...> table(F... f) {
  return {{f...}};
}

// A struct with a table: wire_fields(std::type_identity<S>), declared in
// S's namespace, returns it.
template <class S>
concept described = requires {
  wire_fields(std::type_identity<S>{});
};

template <described S>
void write_struct(writer& w, const S& s) {
  write_fields(w, s, wire_fields(std::type_identity<S>{}).fields);
}

template <described S>
std::string read_struct(const value& in, S& s) {
  return read_fields(in, s, wire_fields(std::type_identity<S>{}).fields);
}

// For a struct whose absent keys must keep the values it starts with.
template <described S>
std::string read_present(const value& in, S& s) {
  return read_present_fields(in, s, wire_fields(std::type_identity<S>{}).fields);
}

// One file's tables in one tuple, and one wire_fields that finds S's there:
//
//   constexpr auto tables = std::tuple{msgpack::table<a>(...), msgpack::table<b>(...)};
//   template <msgpack::listed<decltype(tables)> S>
//   constexpr const auto& wire_fields(std::type_identity<S>) { return msgpack::table_of<S>(tables); }
template <class S, class Tables>
struct table_index;

template <class S, class... T>
struct table_index<S, std::tuple<T...>> {
  static constexpr std::size_t value = [] {
    std::size_t i = 0;
    (void)((std::is_same_v<S, typename T::struct_type> || (++i, false)) || ...);
    return i;
  }();
};

template <class S, class Tables>
concept listed = table_index<S, std::remove_cvref_t<Tables>>::value < std::tuple_size_v<std::remove_cvref_t<Tables>>;

template <class S, class Tables>
constexpr const auto& table_of(const Tables& tables) {
  return std::get<table_index<S, Tables>::value>(tables);
}

// ---------------------------------------------------------------------------
// Default codecs, by C++ type.

template <class T>
struct codec;

// The codec a field names, or its member type's default one (C = void).
template <class C, class T>
using codec_or_default = std::conditional_t<std::is_void_v<C>, codec<T>, C>;

template <>
struct codec<bool> {
  static void write(writer& w, bool v) { w.boolean(v); }
  static bool read(const value& v, bool& out, std::string&) { return as_bool(v, out); }
};

template <>
struct codec<double> {
  static void write(writer& w, double v) { w.float64(v); }
  static bool read(const value& v, double& out, std::string&) { return as_double(v, out); }
};

template <>
struct codec<std::string> {
  static void write(writer& w, const std::string& v) { w.str(v); }
  static bool read(const value& v, std::string& out, std::string&) { return as_string(v, out); }
};

// A byte slice: the raw family in gossip, bin in RPC (the writer's flavour).
template <>
struct codec<bytes> {
  static void write(writer& w, const bytes& v) { w.bin(v); }
  static bool read(const value& v, bytes& out, std::string&) { return as_bytes(v, out); }
};

// Any integer form that fits the field's range, as Go's decoder takes it.
template <std::unsigned_integral T>
struct codec<T> {
  static void write(writer& w, T v) { w.uint(v); }
  static bool read(const value& v, T& out, std::string&) {
    std::uint64_t u = 0;
    if (!as_uint(v, std::numeric_limits<T>::max(), u)) return false;
    out = static_cast<T>(u);
    return true;
  }
};

template <std::signed_integral T>
struct codec<T> {
  static void write(writer& w, T v) { w.sint(v); }
  static bool read(const value& v, T& out, std::string&) {
    std::int64_t i = 0;
    if (!as_int(v, i) || i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) return false;
    out = static_cast<T>(i);
    return true;
  }
};

// Go's named integer types (MemberStatus): the number.
template <class T>
requires std::is_enum_v<T>
struct codec<T> {
  using number = codec<std::underlying_type_t<T>>;
  static void write(writer& w, T v) { number::write(w, static_cast<std::underlying_type_t<T>>(v)); }
  static bool read(const value& v, T& out, std::string& why) {
    std::underlying_type_t<T> n{};
    if (!number::read(v, n, why)) return false;
    out = static_cast<T>(n);
    return true;
  }
};

// A Go pointer, slice or map that may be nil: nullopt is nil, so an engaged
// empty value still goes out as an empty container.
template <class C>
struct nullable {
  template <class T>
  static void write(writer& w, const std::optional<T>& v) {
    if (v)
      C::write(w, *v);
    else
      w.nil();
  }
  template <class T>
  static bool read(const value& v, std::optional<T>& out, std::string& why) {
    out.reset();
    if (v.is_nil()) return true;
    T t{};
    if (!C::read(v, t, why)) return false;
    out = std::move(t);
    return true;
  }
};

// A Go slice: nil reads as empty; one bad element fails the whole field.
template <class C>
struct array_of {
  template <class T>
  static void write(writer& w, const std::vector<T>& v) {
    w.array_header(static_cast<std::uint32_t>(v.size()));
    for (const auto& e : v) C::write(w, e);
  }
  template <class T>
  static bool read(const value& v, std::vector<T>& out, std::string&) {
    out.clear();
    if (v.is_nil()) return true;
    if (!v.is_array()) return false;
    out.resize(v.items.size());
    std::string element_why;  // the field's own message says enough
    for (std::size_t i = 0; i < out.size(); ++i)
      if (!C::read(v.items[i], out[i], element_why)) return false;
    return true;
  }
};

// Go's map[string]V: any key order, a repeated key keeps its last value, nil
// reads as empty. Written in std::map's (sorted) order where Go's is random.
template <class C>
struct map_of {
  template <class V>
  static void write(writer& w, const std::map<std::string, V>& m) {
    w.map_header(static_cast<std::uint32_t>(m.size()));
    for (const auto& [k, v] : m) {
      w.str(k);
      C::write(w, v);
    }
  }
  template <class V>
  static bool read(const value& v, std::map<std::string, V>& out, std::string&) {
    out.clear();
    if (v.is_nil()) return true;
    if (!v.is_map()) return false;
    std::string entry_why;
    for (std::size_t i = 0; i + 1 < v.items.size(); i += 2) {
      std::string k;
      V x{};
      if (!as_string(v.items[i], k) || !C::read(v.items[i + 1], x, entry_why)) return false;
      out.insert_or_assign(std::move(k), std::move(x));
    }
    return true;
  }
};

template <class T>
struct codec<std::optional<T>> : nullable<codec<T>> {};
template <class T>
struct codec<std::vector<T>> : array_of<codec<T>> {};
template <class T>
struct codec<std::map<std::string, T>> : map_of<codec<T>> {};

// A struct inside a struct: its own error is the field's error.
template <described S>
struct codec<S> {
  static void write(writer& w, const S& s) { write_struct(w, s); }
  static bool read(const value& v, S& out, std::string& why) {
    why = read_struct(v, out);
    return why.empty();
  }
};

// A slice or byte string Serf leaves nil when it is empty: go-msgpack then
// writes nil, not an empty array or string. Read as its codec C reads.
template <class C = void>
struct nil_if_empty {
  template <class T>
  static void write(writer& w, const T& v) {
    if (v.empty())
      w.nil();
    else
      codec_or_default<C, T>::write(w, v);
  }
  template <class T>
  static bool read(const value& v, T& out, std::string& why) {
    return codec_or_default<C, T>::read(v, out, why);
  }
};

// ---------------------------------------------------------------------------
// Fields: what a table holds. Each writes its key and value, zeroes its
// value, and reads it with `r` (false stops the walk: `why` or r.error()
// says why).

// C = void: the member type's codec, looked up only where the field is
// written or read. Naming codec<M> in the field's type would let the
// compiler settle which codec<M> is meant while the file's tables are still
// being declared, before a struct member's own table is known.
template <class S, class M, class C>
struct member_field {
  std::string_view key;
  M S::*member;

  void write(writer& w, const S& s) const {
    w.str(key);
    codec_or_default<C, M>::write(w, s.*member);
  }
  void zero(S& s) const { s.*member = M{}; }
  bool read(struct_reader& r, S& s, std::string& why) const {
    const value* v = r.lookup(key);
    if (!v || codec_or_default<C, M>::read(*v, s.*member, why)) return true;
    if (why.empty()) r.fail(key);
    return false;
  }
};

// `key` holds member `member`, through codec C (default: the member type's).
template <class C = void, class S, class M>
constexpr member_field<S, M, C> field(std::string_view key, M S::*member) {
  return {key, member};
}

// A key with fixed text ("Event": "user" in a stream record): written as
// is, not checked when read.
struct constant_field {
  std::string_view key;
  std::string_view text;

  template <class S>
  void write(writer& w, const S&) const {
    w.str(key);
    w.str(text);
  }
  template <class S>
  void zero(S&) const {}
  template <class S>
  bool read(struct_reader&, S&, std::string&) const {
    return true;
  }
};

constexpr constant_field constant(std::string_view key, std::string_view text) { return {key, text}; }

// A nested Go struct whose fields the C++ struct keeps flat (a relay
// header's DestAddr). Its errors read "<key>: <inner error>".
template <class... F>
struct group_field {
  std::string_view key;
  std::tuple<F...> inner;

  template <class S>
  void write(writer& w, const S& s) const {
    w.str(key);
    write_fields(w, s, inner);
  }
  template <class S>
  void zero(S& s) const {
    std::apply([&](const F&... f) { (f.zero(s), ...); }, inner);
  }
  template <class S>
  bool read(struct_reader& r, S& s, std::string& why) const {
    const value* v = r.lookup(key);
    if (v) why = read_present_fields(*v, s, inner);
    if (why.empty()) return true;
    why = std::string(key) + ": " + why;
    return false;
  }
};

template <class... F>
constexpr group_field<F...> group(std::string_view key, std::tuple<F...> inner) {
  return {key, inner};
}

}  // namespace chorus::msgpack
