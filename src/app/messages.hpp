#pragma once
// The work items the stages pass over the WorkBus, their subjects and their encoding.
#include <optional>
#include <string>
#include <vector>

#include "domain/device/device.hpp"

namespace fanout::app {

struct AlertWork {  // ingest -> processor
  std::string alert_id;
  std::string hash;
  std::string provider;
  std::string priority;
};

struct UnitWork {  // processor -> queuer
  std::string alert_id;
  std::string unit;  // UnitKey::ToString()
  std::string priority;
};

struct BatchItem {
  std::string device_id;
  std::string token;
};

struct BatchWork {  // queuer -> sender
  std::string alert_id;
  std::string unit;
  uint32_t batch = 0;
  std::string priority;
  std::vector<BatchItem> items;
};

std::string AlertsSubject(const std::string& priority);
std::string UnitsSubject(const std::string& priority);
std::string BatchesSubject(const std::string& priority, domain::device::Platform p);

std::string Encode(const AlertWork& w);
std::string Encode(const UnitWork& w);
std::string Encode(const BatchWork& w);
std::optional<AlertWork> DecodeAlertWork(const std::string& s);
std::optional<UnitWork> DecodeUnitWork(const std::string& s);
std::optional<BatchWork> DecodeBatchWork(const std::string& s);

}  // namespace fanout::app
