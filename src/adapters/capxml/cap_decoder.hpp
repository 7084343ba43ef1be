#pragma once
// CapDecoder: the production ports::AlertDecoder. Sniffs the first non-whitespace byte
// (`<` → CAP XML, `{`/`[` → NINA JSON) and delegates to CapXmlReader / capjson::CapJsonReader.
// Immutable after construction and thread-safe.
#include <string_view>

#include "adapters/capjson/cap_json_reader.hpp"
#include "adapters/capxml/cap_xml_reader.hpp"
#include "ports/alert_decoder.hpp"

namespace fanout::adapters::capxml {

struct CapDecoderSettings {
  domain::cap::DecodeLimits limits;  // applied to both formats
  bool xsd_validate = true;          // see CapXmlReaderSettings
};

class CapDecoder final : public ports::AlertDecoder {
 public:
  explicit CapDecoder(CapDecoderSettings settings = {});

  domain::cap::CheckResult Decode(std::string_view body) const override;

 private:
  CapDecoderSettings settings_;
  CapXmlReader xml_;
  capjson::CapJsonReader json_;
};

}  // namespace fanout::adapters::capxml
