#pragma once
// SessionMemory: the allocator handed to the nghttp2 sessions of one event-loop thread
// (nghttp2_mem). nghttp2 allocates and frees several small blocks per stream (stream,
// outbound item, header copies, received header buffers); with hundreds of streams
// completing in bursts they overflow glibc's per-thread cache and every one of them
// takes the arena path. Here freed blocks go to per-size free lists that are never
// trimmed, so the steady state allocates nothing (memory stays at the peak of streams
// in flight). Not thread-safe: one instance per event-loop thread, and every session
// using it must be deleted before it is destroyed.
#include <nghttp2/nghttp2.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace fanout::adapters::http2 {

class SessionMemory {
 public:
  SessionMemory();
  ~SessionMemory();
  SessionMemory(const SessionMemory&) = delete;
  SessionMemory& operator=(const SessionMemory&) = delete;

  /// Pass to nghttp2_session_client_new3 / nghttp2_session_server_new3.
  nghttp2_mem* mem() { return &mem_; }

  void* Allocate(size_t size);
  void Free(void* p);
  void* Reallocate(void* p, size_t size);

  /// Blocks obtained from malloc so far (pooled sizes only), for tests.
  uint64_t fresh_blocks() const { return fresh_blocks_; }

 private:
  static constexpr size_t kGranule = 16;
  static constexpr size_t kClasses = 64;  // pooled sizes: 1 .. 1024 bytes
  struct FreeBlock {
    FreeBlock* next;
  };
  std::array<FreeBlock*, kClasses> free_{};
  uint64_t fresh_blocks_ = 0;
  nghttp2_mem mem_;
};

}  // namespace fanout::adapters::http2
