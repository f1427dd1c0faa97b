#include "swim/admission.hpp"

#include "common/enum_names.hpp"

namespace chorus::swim {

namespace {

// The fields alive messages and push/pull entries share.
refusal check_fields(std::string_view name, std::span<const std::uint8_t> addr, std::uint16_t port,
                     std::span<const std::uint8_t> meta, std::span<const std::uint8_t> vsn, std::uint32_t incarnation,
                     std::size_t meta_max) {
  if (name.empty() || name.size() > 0xffff) return refusal::bad_name;
  if (vsn.size() != 6) return refusal::vsn_length;
  if (vsn[0] == 0 || vsn[1] == 0 || vsn[0] > vsn[1]) return refusal::vsn_range;
  if (addr.size() != 4 && addr.size() != 16) return refusal::address_length;
  if (port == 0) return refusal::port_zero;
  if (meta.size() > meta_max) return refusal::meta_too_large;
  return check_accusation(incarnation);
}

}  // namespace

const char* to_string(refusal r) {
  return enum_name<refusal::incarnation_too_high>(
      r,
      {"accepted", "Vsn is not 6 bytes", "Vsn protocol range is invalid", "address is not 4 or 16 bytes", "port is 0",
       "meta is over the size limit", "node name is empty or too long", "incarnation is too high to refute"});
}

refusal check(const alive& a, std::size_t meta_max) {
  return check_fields(a.node, a.addr, a.port, a.meta, a.vsn, a.incarnation, meta_max);
}

refusal check(const push_node_state& s, std::size_t meta_max) {
  return check_fields(s.name, s.addr, s.port, s.meta, s.vsn, s.incarnation, meta_max);
}

refusal check_accusation(std::uint32_t incarnation) {
  return incarnation > max_wire_incarnation ? refusal::incarnation_too_high : refusal::none;
}

}  // namespace chorus::swim
