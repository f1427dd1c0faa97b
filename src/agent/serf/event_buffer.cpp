#include "agent/serf/event_buffer.hpp"

#include <algorithm>

#include "common/enum_names.hpp"

namespace chorus::agent {

const char* to_string(buffer_verdict v) {
  return enum_name<buffer_verdict::duplicate>(v, {"fresh", "too_early", "old", "duplicate"});
}

namespace {
bool is_old(std::uint64_t ltime, std::uint64_t clock_now, std::size_t size) {
  return clock_now > size && ltime < clock_now - size;
}
}  // namespace

buffer_verdict event_buffer::add(std::uint64_t ltime, std::string_view name, std::span<const std::uint8_t> payload,
                                 std::uint64_t clock_now) {
  if (ltime < min_time_) return buffer_verdict::too_early;
  if (is_old(ltime, clock_now, slots_.size())) return buffer_verdict::old;
  auto& s = slots_[ltime % slots_.size()];
  if (s && s->ltime == ltime) {
    for (const auto& e : s->events)
      if (e.name == name && std::equal(e.payload.begin(), e.payload.end(), payload.begin(), payload.end()))
        return buffer_verdict::duplicate;
  } else {
    s = event_slot{ltime, {}};
  }
  s->events.push_back(event_entry{std::string(name), bytes(payload.begin(), payload.end())});
  return buffer_verdict::fresh;
}

buffer_verdict query_buffer::add(std::uint64_t ltime, std::uint32_t id, std::uint64_t clock_now) {
  if (ltime < min_time_) return buffer_verdict::too_early;
  if (is_old(ltime, clock_now, slots_.size())) return buffer_verdict::old;
  auto& s = slots_[ltime % slots_.size()];
  if (s && s->ltime == ltime) {
    if (std::find(s->ids.begin(), s->ids.end(), id) != s->ids.end()) return buffer_verdict::duplicate;
  } else {
    s = slot{ltime, {}};
  }
  s->ids.push_back(id);
  return buffer_verdict::fresh;
}

}  // namespace chorus::agent
