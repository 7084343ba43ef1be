# cmake -DIN=<xsd> -DOUT=<cpp> -P embed_xsd.cmake
# Writes a .cpp defining fanout::adapters::capxml::CapXsdText() with the XSD bytes, so the
# binary validates without the data directory.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hex_len)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}.tmp" "// Generated from ${IN} by embed_xsd.cmake. Do not edit.
#include <string_view>

namespace fanout::adapters::capxml {
namespace {
const unsigned char kCapXsd[] = {
${bytes}};
}  // namespace

std::string_view CapXsdText() {
  return {reinterpret_cast<const char*>(kCapXsd), sizeof(kCapXsd)};
}

}  // namespace fanout::adapters::capxml
")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
