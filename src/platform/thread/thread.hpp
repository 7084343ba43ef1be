#pragma once
// Per-thread scheduling weight. On a shared CPU, queues and connection pools alone do not keep
// regular work from slowing an Extreme alert; the regular path's threads therefore run with a
// higher nice value (a lower CFS weight). Raising one's own nice needs no privilege.

namespace fanout::platform {

/// Sets the calling thread's nice value (Linux: per thread). Returns false on failure
/// (the thread keeps its priority; callers log and continue).
bool SetCurrentThreadNice(int nice);

}  // namespace fanout::platform
