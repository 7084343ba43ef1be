#include "adapters/capxml/cap_decoder.hpp"

#include <string>

#include "domain/cap/validate.hpp"

namespace fanout::adapters::capxml {

CapDecoder::CapDecoder(CapDecoderSettings settings)
    : settings_(settings),
      xml_(CapXmlReaderSettings{settings.limits, settings.xsd_validate}),
      json_(capjson::CapJsonReaderSettings{settings.limits, true}) {}

domain::cap::CheckResult CapDecoder::Decode(std::string_view body) const {
  // Size first: never even scan a body that is over the limit.
  if (body.size() > settings_.limits.max_body_bytes) return xml_.Read(body);
  size_t i = 0;
  if (body.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // UTF-8 byte order mark
  while (i < body.size() &&
         (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r')) {
    ++i;
  }
  if (i < body.size() && body[i] == '<') return xml_.Read(body);
  if (i < body.size() && (body[i] == '{' || body[i] == '[')) return json_.Read(body.substr(i));
  if (i < body.size()) {
    const auto b = static_cast<unsigned char>(body[i]);
    if (b == 0x00 || b == 0xFE || b == 0xFF) return xml_.Read(body);  // UNSUPPORTED_ENCODING
  }

  domain::cap::CheckResult r;
  const std::string what = i < body.size()
                               ? "neither XML (<) nor JSON ({, [) at byte " + std::to_string(i)
                               : std::string("empty body");
  r.errors.push_back(domain::cap::Issue{"NOT_AN_ALERT", what, true});
  domain::cap::Finalize(r);
  return r;
}

}  // namespace fanout::adapters::capxml
