#pragma once
// Strong identifier types: an AlertId is not a DeviceId is not a RegionKey.
#include <compare>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace fanout {

template <class Tag>
class StrongId {
 public:
  StrongId() = default;
  explicit StrongId(std::string v) : value_(std::move(v)) {}
  const std::string& str() const { return value_; }
  bool empty() const { return value_.empty(); }
  auto operator<=>(const StrongId&) const = default;

 private:
  std::string value_;
};

}  // namespace fanout

template <class Tag>
struct std::hash<fanout::StrongId<Tag>> {
  size_t operator()(const fanout::StrongId<Tag>& id) const noexcept {
    return std::hash<std::string>{}(id.str());
  }
};
