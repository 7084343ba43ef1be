#include "app/settings.hpp"

namespace fanout::app {

Roles Roles::Of(const std::vector<std::string>& names) {
  Roles r;
  r.ingest = r.processor = r.queuer = r.sender = r.watchdog = r.dashboard = r.registry = false;
  for (const std::string& n : names) {
    if (n == "ingest") r.ingest = true;
    if (n == "processor") r.processor = true;
    if (n == "queuer") r.queuer = true;
    if (n == "sender") r.sender = true;
    if (n == "watchdog") r.watchdog = true;
    if (n == "dashboard") r.dashboard = true;
    if (n == "registry") r.registry = true;
  }
  return r;
}

std::string Roles::ToString() const {
  std::string out;
  auto add = [&out](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(ingest, "ingest");
  add(processor, "processor");
  add(queuer, "queuer");
  add(sender, "sender");
  add(watchdog, "watchdog");
  add(dashboard, "dashboard");
  add(registry, "registry");
  return out;
}

}  // namespace fanout::app
