#include "adapters/http2/session_memory.hpp"

#include <sanitizer/asan_interface.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace fanout::adapters::http2 {
namespace {

// Every block starts with this header (16 bytes keep malloc's 16-byte alignment).
struct Header {
  uint32_t cls;  // size class, or kLarge
  uint32_t unused;
  size_t size;  // bytes requested (what Reallocate must copy)
};
static_assert(sizeof(Header) == 16);
constexpr uint32_t kLarge = UINT32_MAX;

Header* HeaderOf(void* p) {
  return reinterpret_cast<Header*>(static_cast<char*>(p) - sizeof(Header));
}

}  // namespace

SessionMemory::SessionMemory() {
  mem_.mem_user_data = this;
  mem_.malloc = [](size_t size, void* self) {
    return static_cast<SessionMemory*>(self)->Allocate(size);
  };
  mem_.free = [](void* p, void* self) { static_cast<SessionMemory*>(self)->Free(p); };
  mem_.calloc = [](size_t n, size_t size, void* self) -> void* {
    if (size != 0 && n > SIZE_MAX / size) return nullptr;
    void* p = static_cast<SessionMemory*>(self)->Allocate(n * size);
    if (p != nullptr) std::memset(p, 0, n * size);
    return p;
  };
  mem_.realloc = [](void* p, size_t size, void* self) {
    return static_cast<SessionMemory*>(self)->Reallocate(p, size);
  };
}

SessionMemory::~SessionMemory() {
  for (FreeBlock* head : free_) {
    while (head != nullptr) {
      ASAN_UNPOISON_MEMORY_REGION(head, sizeof(FreeBlock));
      FreeBlock* next = head->next;
      std::free(HeaderOf(head));
      head = next;
    }
  }
}

void* SessionMemory::Allocate(size_t size) {
  if (size > SIZE_MAX - sizeof(Header)) return nullptr;
  size_t cls = size == 0 ? 0 : (size - 1) / kGranule;
  if (cls >= kClasses) {
    auto* h = static_cast<Header*>(std::malloc(sizeof(Header) + size));
    if (h == nullptr) return nullptr;
    h->cls = kLarge;
    h->size = size;
    return h + 1;
  }
  void* p;
  if (free_[cls] != nullptr) {
    FreeBlock* b = free_[cls];
    ASAN_UNPOISON_MEMORY_REGION(b, (cls + 1) * kGranule);
    free_[cls] = b->next;
    p = b;
  } else {
    auto* h = static_cast<Header*>(std::malloc(sizeof(Header) + (cls + 1) * kGranule));
    if (h == nullptr) return nullptr;
    h->cls = static_cast<uint32_t>(cls);
    ++fresh_blocks_;
    p = h + 1;
  }
  HeaderOf(p)->size = size;
  return p;
}

void SessionMemory::Free(void* p) {
  if (p == nullptr) return;
  Header* h = HeaderOf(p);
  if (h->cls == kLarge) {
    std::free(h);
    return;
  }
  auto* b = static_cast<FreeBlock*>(p);
  b->next = free_[h->cls];
  free_[h->cls] = b;
  // Under ASan a pooled block stays poisoned until it is handed out again, so a use
  // after free by nghttp2 or by us is still reported.
  ASAN_POISON_MEMORY_REGION(b, (h->cls + 1) * kGranule);
}

void* SessionMemory::Reallocate(void* p, size_t size) {
  if (p == nullptr) return Allocate(size);
  Header* h = HeaderOf(p);
  if (h->cls != kLarge && size <= (h->cls + 1) * kGranule) {
    h->size = size;  // still fits its block
    return p;
  }
  void* q = Allocate(size);
  if (q == nullptr) return nullptr;  // like realloc: `p` stays valid
  std::memcpy(q, p, std::min(size, h->size));
  Free(p);
  return q;
}

}  // namespace fanout::adapters::http2
