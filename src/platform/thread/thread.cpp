#include "platform/thread/thread.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace fanout::platform {

bool SetCurrentThreadNice(int nice) {
  // On Linux, PRIO_PROCESS with a thread id applies to that thread only.
  auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  return ::setpriority(PRIO_PROCESS, tid, nice) == 0;
}

}  // namespace fanout::platform
