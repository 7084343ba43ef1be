#include "app/priority_bus.hpp"

namespace fanout::app {

bool IsHighPrioritySubject(const std::string& subject) {
  size_t dot = subject.find('.');
  if (dot == std::string::npos) return false;
  size_t end = subject.find('.', dot + 1);
  return subject.compare(dot + 1, end == std::string::npos ? std::string::npos : end - dot - 1,
                         "high") == 0;
}

}  // namespace fanout::app
