#pragma once
// CAP 1.2 XML reader: hardened libxml2 parse, XSD validation against the embedded OASIS schema,
// lenient by-name extraction into domain::cap::Alert, then the spec rules (domain Validate).
// Immutable after construction; Read() is thread-safe (per-call parser and validation
// contexts; the compiled schema is shared read-only).
#include <string_view>

#include "domain/cap/alert.hpp"
#include "domain/cap/validate.hpp"

namespace fanout::adapters::capxml {

struct CapXmlReaderSettings {
  domain::cap::DecodeLimits limits;
  /// XSD validation costs ~as much as the parse itself; switch off only where `valid` does
  /// not matter (strict validity then reflects the spec rules only).
  bool xsd_validate = true;
};

class CapXmlReader {
 public:
  explicit CapXmlReader(CapXmlReaderSettings settings = {});

  /// Reads one document (bytes as received; the XML declaration decides the encoding).
  domain::cap::CheckResult Read(std::string_view body) const;

  const CapXmlReaderSettings& settings() const { return settings_; }

 private:
  CapXmlReaderSettings settings_;
};

/// The OASIS CAP 1.2 XSD text, embedded at build time from data/cap/schema/CAP-v1.2.xsd.
std::string_view CapXsdText();

/// Number of times libxml2 asked to load an external resource (DTD, entity, schema
/// location) since start. The reader installs a loader that refuses every such request, so
/// this only proves that nothing was fetched; tests assert it stays 0.
unsigned long ExternalLoadAttempts();

}  // namespace fanout::adapters::capxml
