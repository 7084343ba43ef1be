#pragma once
// Result type used across ports: tl::expected today, std::expected once we move to C++23.
#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace fanout {

template <class T, class E>
using Result = tl::expected<T, E>;

template <class E>
auto Fail(E&& e) {
  return tl::make_unexpected(std::forward<E>(e));
}

/// A generic error for ports whose callers only need "what happened" plus a message.
struct Error {
  enum class Kind { kRetryLater, kNotFound, kInvalid, kConflict, kInternal };
  Kind kind = Kind::kInternal;
  std::string message;
};

}  // namespace fanout
