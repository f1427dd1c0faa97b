#include "swim/admission.hpp"

#include "common/enum_names.hpp"

namespace chorus::swim {

namespace {

// The fields alive messages and push/pull entries share.
refusal check_fields(std::string_view name, std::span<const std::uint8_t> addr, std::uint16_t port,
                     std::span<const std::uint8_t> meta, std::span<const std::uint8_t> vsn, std::uint32_t incarnation,
                     const admission_rules& rules) {
  if (name.empty() || name.size() > 0xffff) return refusal::bad_name;
  if (rules.validate_names && !valid_node_name(name)) return refusal::invalid_name;
  if (vsn.size() != 6) return refusal::vsn_length;
  if (vsn[0] == 0 || vsn[1] == 0 || vsn[0] > vsn[1]) return refusal::vsn_range;
  if (addr.size() != 4 && addr.size() != 16) return refusal::address_length;
  if (rules.allowed && !allowed(*rules.allowed, address::from(addr, port))) return refusal::address_not_allowed;
  if (port == 0) return refusal::port_zero;
  if (meta.size() > rules.meta_max) return refusal::meta_too_large;
  return check_accusation(incarnation);
}

}  // namespace

const char* to_string(refusal r) {
  return enum_name<refusal::address_not_allowed>(
      r,
      {"accepted", "Vsn is not 6 bytes", "Vsn protocol range is invalid", "address is not 4 or 16 bytes", "port is 0",
       "meta is over the size limit", "node name is empty or too long", "incarnation is too high to refute",
       "node name is not 1-128 characters of A-Z a-z 0-9 . -", "address is outside the allowed CIDRs"});
}

refusal check(const alive& a, const admission_rules& rules) {
  return check_fields(a.node, a.addr, a.port, a.meta, a.vsn, a.incarnation, rules);
}

refusal check(const push_node_state& s, const admission_rules& rules) {
  return check_fields(s.name, s.addr, s.port, s.meta, s.vsn, s.incarnation, rules);
}

bool valid_node_name(std::string_view name) { return node_name_problem(name).empty(); }

std::string node_name_problem(std::string_view name) {
  if (name.empty() || name.size() > max_validated_name_len)
    return "node name is " + std::to_string(name.size()) + " characters; valid names have 1 to " +
           std::to_string(max_validated_name_len);
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    if (!ok) return "node name contains invalid characters; valid characters are ASCII letters, digits, '-' and '.'";
  }
  return {};
}

refusal check_accusation(std::uint32_t incarnation) {
  return incarnation > max_wire_incarnation ? refusal::incarnation_too_high : refusal::none;
}

}  // namespace chorus::swim
