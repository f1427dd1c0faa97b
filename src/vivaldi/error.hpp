#pragma once
// The closed set of ways a Vivaldi operation can refuse its input. Every
// refusal leaves the client exactly as it was (vivaldi.md section 4).
#include <string_view>

#include "common/enum_names.hpp"

namespace chorus::vivaldi {

enum class error {
  none = 0,
  incompatible_dimensions,  // the other coordinate has a different number of components
  invalid_coordinate,       // a component is NaN or infinite
  rtt_out_of_range,         // negative, above 10 s, or not a number
};

// Human-readable reason; the first three match Serf's wording.
constexpr std::string_view to_string(error e) {
  return enum_name<error::rtt_out_of_range>(
      e,
      {"ok", "dimensions aren't compatible", "coordinate is invalid", "round trip time not in valid range (0 to 10 s)"},
      "unknown error");
}

// A value or the reason there is none; never throws.
template <class T>
class result {
 public:
  result(T value) : value_(value) {}  // NOLINT: implicit on purpose, like std::expected
  result(error e) : error_(e) {}      // NOLINT

  bool ok() const { return error_ == error::none; }
  explicit operator bool() const { return ok(); }
  // Only meaningful when ok(); a default-constructed T otherwise.
  const T& value() const { return value_; }
  const T& operator*() const { return value_; }
  error error_code() const { return error_; }

 private:
  T value_{};
  error error_ = error::none;
};

}  // namespace chorus::vivaldi
