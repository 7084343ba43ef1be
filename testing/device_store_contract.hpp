#pragma once
// The DeviceStore contract, run against every adapter (SQLite, PostgreSQL, the fake): versioned
// changes win by version (then origin) in any order, removals leave tombstones, the feed
// position and the greatest version are kept with the data. Include from tests only.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ports/device_store.hpp"

namespace fanout::testing {

inline ports::DeviceUpdate PutChange(const domain::device::Device& d, uint64_t version,
                                     std::string origin = "r1") {
  return {d.id, d, std::move(origin), "test", version};
}

inline ports::DeviceUpdate RemoveChange(const std::string& id, uint64_t version,
                                        std::string origin = "r1") {
  return {id, std::nullopt, std::move(origin), "test", version};
}

/// Applies one change and returns its outcome (a failed write fails the test).
inline ports::Applied ApplyOne(ports::DeviceStore& store, const ports::DeviceUpdate& u,
                               uint64_t feed_position = 0) {
  auto r = store.Apply(std::span<const ports::DeviceUpdate>(&u, 1), feed_position);
  EXPECT_TRUE(r) << r.error().message;
  return r && r->size() == 1 ? r->front() : ports::Applied::kStale;
}

/// `store` must be empty. `device(id)` makes a valid device; tokens are compared.
template <typename MakeDevice>
void ExpectVersionedApply(ports::DeviceStore& store, MakeDevice device) {
  using ports::Applied;
  auto token = [&](const std::string& id) {
    auto d = store.Get(id);
    EXPECT_TRUE(d) << d.error().message;
    return d && *d ? (*d)->token : std::string("<absent>");
  };
  domain::device::Device a = device("a"), a_old = device("a");
  a.token = "token-v10";
  a_old.token = "token-v5";
  // Created, then an older change arriving later is stale: the newer one stays.
  EXPECT_EQ(ApplyOne(store, PutChange(a, 10)), Applied::kCreated);
  EXPECT_EQ(ApplyOne(store, PutChange(a_old, 5)), Applied::kStale);
  EXPECT_EQ(token("a"), "token-v10");
  // Equal versions: the greater origin wins, whichever comes first.
  domain::device::Device a_r2 = device("a");
  a_r2.token = "token-v10-r2";
  EXPECT_EQ(ApplyOne(store, PutChange(a_r2, 10, "r2")), Applied::kUpdated);
  EXPECT_EQ(ApplyOne(store, PutChange(a, 10, "r1")), Applied::kStale);
  EXPECT_EQ(token("a"), "token-v10-r2");
  // A removal leaves a tombstone: an older registration arriving later does not bring the
  // device back; a newer one does.
  EXPECT_EQ(ApplyOne(store, RemoveChange("a", 20)), Applied::kRemoved);
  EXPECT_EQ(ApplyOne(store, PutChange(a, 15)), Applied::kStale);
  EXPECT_EQ(token("a"), "<absent>");
  EXPECT_EQ(ApplyOne(store, RemoveChange("a", 19)), Applied::kStale);
  domain::device::Device a_new = device("a");
  a_new.token = "token-v30";
  EXPECT_EQ(ApplyOne(store, PutChange(a_new, 30)), Applied::kCreated);
  EXPECT_EQ(token("a"), "token-v30");
  // A removal that arrives before the registration it removes.
  EXPECT_EQ(ApplyOne(store, RemoveChange("b", 40)), Applied::kAbsent);
  EXPECT_EQ(ApplyOne(store, PutChange(device("b"), 35)), Applied::kStale);
  EXPECT_EQ(token("b"), "<absent>");
  // One batch holding two versions of a device, newest first: the newest is kept.
  domain::device::Device c1 = device("c"), c2 = device("c");
  c1.token = "token-c50";
  c2.token = "token-c45";
  std::vector<ports::DeviceUpdate> batch{PutChange(c1, 50), PutChange(c2, 45),
                                         PutChange(device("d"), 46)};
  auto applied = store.Apply(batch, 7);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ((*applied)[0], Applied::kCreated);
  EXPECT_EQ((*applied)[1], Applied::kStale);
  EXPECT_EQ((*applied)[2], Applied::kCreated);
  EXPECT_EQ(token("c"), "token-c50");
  auto sync = store.SyncState();
  ASSERT_TRUE(sync) << sync.error().message;
  EXPECT_EQ(sync->feed_position, 7u);
  EXPECT_EQ(sync->max_version, 50u);
  // A write without a position keeps the recorded one.
  EXPECT_EQ(ApplyOne(store, PutChange(device("e"), 60)), Applied::kCreated);
  sync = store.SyncState();
  ASSERT_TRUE(sync);
  EXPECT_EQ(sync->feed_position, 7u);
  EXPECT_EQ(sync->max_version, 60u);
  size_t n = 0;
  ASSERT_TRUE(store.LoadAll([&](domain::device::Device&&) { ++n; }));
  EXPECT_EQ(n, 4u);  // a, c, d, e
}

}  // namespace fanout::testing
