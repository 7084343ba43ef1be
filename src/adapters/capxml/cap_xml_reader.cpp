#include "adapters/capxml/cap_xml_reader.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fanout::adapters::capxml {
namespace {

namespace cap = domain::cap;

constexpr const char* kCap12Ns = "urn:oasis:names:tc:emergency:cap:1.2";
constexpr std::string_view kCapNsPrefix = "urn:oasis:names:tc:emergency:cap:";
constexpr std::string_view kEdxlNsPrefix = "urn:oasis:names:tc:emergency:EDXL:DE";
constexpr size_t kMaxReportedXsdErrors = 20;

std::atomic<unsigned long> g_external_loads{0};

// Refuses every external resource libxml2 would load (DTDs, external entities, schema
// locations). Parsing never needs one: DOCTYPE is rejected up front and the schema is in
// memory. Process-wide by libxml2's design; nothing else in Fanout uses libxml2.
xmlParserInputPtr DenyExternalLoad(const char* /*url*/, const char* /*id*/,
                                   xmlParserCtxtPtr /*ctxt*/) {
  g_external_loads.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

struct XmlError {
  int code = 0;
  int line = 0;
  std::string message;
  const xmlNode* node = nullptr;
};

void CollectError(void* user, xmlErrorPtr error) {
  if (error == nullptr || user == nullptr) return;
  auto* sink = static_cast<std::vector<XmlError>*>(user);
  if (sink->size() >= 200) return;  // a hostile document can produce unbounded errors
  std::string msg = error->message ? error->message : "";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  sink->push_back(
      XmlError{error->code, error->line, std::move(msg), static_cast<const xmlNode*>(error->node)});
}

// Routes libxml2's per-thread structured error handler to a vector for one parse.
class ScopedErrorSink {
 public:
  explicit ScopedErrorSink(std::vector<XmlError>* sink)
      : prev_handler_(xmlStructuredError), prev_context_(xmlStructuredErrorContext) {
    xmlSetStructuredErrorFunc(sink, CollectError);
  }
  ~ScopedErrorSink() { xmlSetStructuredErrorFunc(prev_context_, prev_handler_); }
  ScopedErrorSink(const ScopedErrorSink&) = delete;
  ScopedErrorSink& operator=(const ScopedErrorSink&) = delete;

 private:
  xmlStructuredErrorFunc prev_handler_;
  void* prev_context_;
};

// The schema is compiled once per process; xmlSchema is read-only during validation and may be
// shared by validation contexts of different threads (contexts themselves are per call).
struct CompiledSchema {
  xmlSchemaPtr schema = nullptr;
  std::string error;

  CompiledSchema() {
    xmlInitParser();
    xmlSetExternalEntityLoader(DenyExternalLoad);
    std::string_view xsd = CapXsdText();
    std::vector<XmlError> errors;
    ScopedErrorSink sink(&errors);
    xmlSchemaParserCtxtPtr pctxt =
        xmlSchemaNewMemParserCtxt(xsd.data(), static_cast<int>(xsd.size()));
    if (pctxt != nullptr) {
      schema = xmlSchemaParse(pctxt);
      xmlSchemaFreeParserCtxt(pctxt);
    }
    if (schema == nullptr) {
      error = errors.empty() ? "unknown error" : errors.front().message;
    }
  }
  ~CompiledSchema() {
    if (schema) xmlSchemaFree(schema);
  }
};

const CompiledSchema& Schema() {
  static CompiledSchema instance;
  return instance;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string Trimmed(std::string s) {
  size_t b = 0, e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  if (b == 0 && e == s.size()) return s;
  return s.substr(b, e - b);
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Looks at the prolog only (XML declaration, PIs, comments): any `<!` other than a comment
// there is a DOCTYPE (or garbage). Rejecting before libxml2 sees the bytes guarantees no
// entity is declared, expanded or fetched, whatever the parser options.
bool PrologHasDoctype(std::string_view s) {
  size_t i = 0;
  if (StartsWith(s, "\xEF\xBB\xBF")) i = 3;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    std::string_view rest = s.substr(i);
    if (StartsWith(rest, "<?")) {
      size_t end = rest.find("?>");
      if (end == std::string_view::npos) return false;
      i += end + 2;
    } else if (StartsWith(rest, "<!--")) {
      size_t end = rest.find("-->");
      if (end == std::string_view::npos) return false;
      i += end + 3;
    } else {
      return StartsWith(rest, "<!");
    }
  }
  return false;
}

std::string_view Name(const xmlNode* n) { return reinterpret_cast<const char*>(n->name); }
std::string_view NsHref(const xmlNode* n) {
  return n->ns && n->ns->href ? std::string_view(reinterpret_cast<const char*>(n->ns->href))
                              : std::string_view();
}

std::string Text(const xmlNode* n) {
  std::string out;
  for (const xmlNode* c = n->children; c; c = c->next) {
    if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
      out += reinterpret_cast<const char*>(c->content);
    }
  }
  return out;
}

constexpr std::string_view kCapElements[] = {
    "alert",        "identifier",   "sender",      "sent",      "status",   "msgType",
    "source",       "scope",        "restriction", "addresses", "code",     "note",
    "references",   "incidents",    "info",        "language",  "category", "event",
    "responseType", "urgency",      "severity",    "certainty", "audience", "eventCode",
    "valueName",    "value",        "effective",   "onset",     "expires",  "senderName",
    "headline",     "description",  "instruction", "web",       "contact",  "parameter",
    "resource",     "resourceDesc", "mimeType",    "size",      "uri",      "derefUri",
    "digest",       "area",         "areaDesc",    "polygon",   "circle",   "geocode",
    "altitude",     "ceiling"};

bool IsCapElementName(std::string_view n) {
  return std::find(std::begin(kCapElements), std::end(kCapElements), n) != std::end(kCapElements);
}

// libxml2 reports a skipped required element as "<next>: This element is not expected.
// Expected is one of ( {ns}a, {ns}b )". If one of the expected elements occurs among the
// siblings, the document has it in the wrong place (sequence); otherwise it is missing.
bool ExpectedSiblingPresent(const XmlError& e) {
  const std::string& m = e.message;
  size_t pos = m.find("Expected is");
  if (pos == std::string::npos || e.node == nullptr || e.node->parent == nullptr) return true;
  std::vector<std::string> expected;
  while ((pos = m.find('}', pos)) != std::string::npos) {
    size_t end = m.find_first_of(" ,)", pos + 1);
    expected.push_back(m.substr(pos + 1, end == std::string::npos ? end : end - pos - 1));
    pos = end;
  }
  for (const xmlNode* c = e.node->parent->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (std::find(expected.begin(), expected.end(), Name(c)) != expected.end()) return true;
  }
  return false;
}

void MapXsdErrors(const std::vector<XmlError>& errors, cap::Findings& f) {
  size_t n = 0;
  for (const XmlError& e : errors) {
    if (++n > kMaxReportedXsdErrors) {
      f.Error("XSD_INVALID",
              "and " + std::to_string(errors.size() - kMaxReportedXsdErrors) + " more XSD errors",
              false);
      break;
    }
    std::string code = "XSD_INVALID";
    const std::string& m = e.message;
    if (e.code == XML_SCHEMAV_ELEMENT_CONTENT) {
      if (m.find("Missing child element") != std::string::npos) {
        code = "XSD_MISSING_ELEMENT";
      } else if (e.node && (NsHref(e.node) != kCap12Ns || !IsCapElementName(Name(e.node)))) {
        code = "XSD_UNSUPPORTED_ELEMENT";
      } else {
        code = ExpectedSiblingPresent(e) ? "XSD_INVALID_SEQUENCE" : "XSD_MISSING_ELEMENT";
      }
    } else if (m.find("is not a valid value") != std::string::npos ||
               m.find("is not accepted by the pattern") != std::string::npos ||
               m.find("is not an element of the set") != std::string::npos) {
      code = "XSD_INVALID_VALUE";
    }
    // XSD findings describe form, not meaning: the spec rules decide what is fatal.
    f.Error(code, "line " + std::to_string(e.line) + ": " + m, false);
  }
}

class AlertBuilder {
 public:
  AlertBuilder(std::string_view ns, cap::Findings& f) : ns_(ns), f_(f) {}

  cap::Alert Build(const xmlNode* root) {
    cap::Alert a;
    for (const xmlNode* c = root->children; c; c = c->next) {
      if (!IsCap(c)) continue;
      std::string_view n = Name(c);
      if (n == "identifier") {
        SetId(a.identifier, c, "identifier", "INVALID_IDENTIFIER");
      } else if (n == "sender") {
        SetId(a.sender, c, "sender", "INVALID_SENDER");
      } else if (n == "sent") {
        SetOnce(a.sent, c);
      } else if (n == "status") {
        SetOnce(a.status, c);
      } else if (n == "msgType") {
        SetOnce(a.msg_type, c);
      } else if (n == "source") {
        SetOpt(a.source, c, false);
      } else if (n == "scope") {
        SetOnce(a.scope, c);
      } else if (n == "restriction") {
        SetOpt(a.restriction, c, true);
      } else if (n == "addresses") {
        SetOpt(a.addresses, c, true);
      } else if (n == "code") {
        a.codes.push_back(Trimmed(Text(c)));
      } else if (n == "note") {
        SetOpt(a.note, c, false);
      } else if (n == "references") {
        SetOpt(a.references_raw, c, false);
      } else if (n == "incidents") {
        SetOpt(a.incidents, c, true);
      } else if (n == "info") {
        a.infos.push_back(BuildInfo(c));
      }
    }
    if (a.references_raw) a.references = cap::ParseReferences(*a.references_raw).references;
    return a;
  }

 private:
  bool IsCap(const xmlNode* n) const { return n->type == XML_ELEMENT_NODE && NsHref(n) == ns_; }

  void SetOnce(std::string& field, const xmlNode* n) {
    if (field.empty()) field = Trimmed(Text(n));
  }
  void SetOpt(std::optional<std::string>& field, const xmlNode* n, bool trim) {
    if (!field) field = trim ? Trimmed(Text(n)) : Text(n);
  }
  // identifier/sender: read trimmed (so they match a request path), but a padded value is a
  // real defect of the producer: report it like any other forbidden whitespace.
  void SetId(std::string& field, const xmlNode* n, const char* what, const char* code) {
    if (!field.empty()) return;
    std::string raw = Text(n);
    field = Trimmed(raw);
    if (field.size() != raw.size()) {
      f_.Error(code,
               std::string(what) + " has surrounding whitespace (line " +
                   std::to_string(xmlGetLineNo(n)) + ")",
               false);
    }
  }

  cap::ValuePair BuildPair(const xmlNode* n) {
    cap::ValuePair p;
    bool has_name = false, has_value = false;
    for (const xmlNode* c = n->children; c; c = c->next) {
      if (!IsCap(c)) continue;
      if (Name(c) == "valueName" && !has_name) {
        p.name = Trimmed(Text(c));
        has_name = true;
      } else if (Name(c) == "value" && !has_value) {
        p.value = Trimmed(Text(c));
        has_value = true;
      }
    }
    return p;
  }

  cap::Info BuildInfo(const xmlNode* info_el) {
    cap::Info i;
    for (const xmlNode* c = info_el->children; c; c = c->next) {
      if (!IsCap(c)) continue;
      std::string_view n = Name(c);
      if (n == "language") {
        SetOnce(i.language, c);
      } else if (n == "category") {
        i.categories.push_back(Trimmed(Text(c)));
      } else if (n == "event") {
        SetOnce(i.event, c);
      } else if (n == "responseType") {
        i.response_types.push_back(Trimmed(Text(c)));
      } else if (n == "urgency") {
        SetOnce(i.urgency, c);
      } else if (n == "severity") {
        SetOnce(i.severity, c);
      } else if (n == "certainty") {
        SetOnce(i.certainty, c);
      } else if (n == "audience") {
        SetOpt(i.audience, c, false);
      } else if (n == "eventCode") {
        i.event_codes.push_back(BuildPair(c));
      } else if (n == "effective") {
        SetOpt(i.effective, c, true);
      } else if (n == "onset") {
        SetOpt(i.onset, c, true);
      } else if (n == "expires") {
        SetOpt(i.expires, c, true);
      } else if (n == "senderName") {
        SetOpt(i.sender_name, c, true);
      } else if (n == "headline") {
        SetOpt(i.headline, c, true);
      } else if (n == "description") {
        SetOpt(i.description, c, false);
      } else if (n == "instruction") {
        SetOpt(i.instruction, c, false);
      } else if (n == "web") {
        SetOpt(i.web, c, true);
      } else if (n == "contact") {
        SetOpt(i.contact, c, true);
      } else if (n == "parameter") {
        i.parameters.push_back(BuildPair(c));
      } else if (n == "resource") {
        i.resources.push_back(BuildResource(c));
      } else if (n == "area") {
        i.areas.push_back(BuildArea(c));
      }
    }
    return i;
  }

  cap::Resource BuildResource(const xmlNode* n) {
    cap::Resource r;
    for (const xmlNode* c = n->children; c; c = c->next) {
      if (!IsCap(c)) continue;
      std::string_view name = Name(c);
      if (name == "resourceDesc") {
        SetOnce(r.desc, c);
      } else if (name == "mimeType") {
        SetOnce(r.mime_type, c);
      } else if (name == "size") {
        SetOpt(r.size, c, true);
      } else if (name == "uri") {
        SetOpt(r.uri, c, true);
      } else if (name == "derefUri") {
        r.has_deref_uri = true;  // base64 payload: not kept in the model
      } else if (name == "digest") {
        SetOpt(r.digest, c, true);
      }
    }
    return r;
  }

  cap::Area BuildArea(const xmlNode* n) {
    cap::Area a;
    for (const xmlNode* c = n->children; c; c = c->next) {
      if (!IsCap(c)) continue;
      std::string_view name = Name(c);
      if (name == "areaDesc") {
        SetOnce(a.desc, c);
      } else if (name == "polygon") {
        a.polygons.push_back(Trimmed(Text(c)));
      } else if (name == "circle") {
        a.circles.push_back(Trimmed(Text(c)));
      } else if (name == "geocode") {
        a.geocodes.push_back(BuildPair(c));
      } else if (name == "altitude") {
        SetOpt(a.altitude, c, true);
      } else if (name == "ceiling") {
        SetOpt(a.ceiling, c, true);
      }
    }
    return a;
  }

  std::string_view ns_;
  cap::Findings& f_;
};

struct DocDeleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};

// Walks the whole tree once; returns false and reports when a limit is exceeded.
bool CheckTreeLimits(const xmlNode* root, const cap::DecodeLimits& limits, cap::Findings& f) {
  size_t elements = 0, depth = 1, max_depth = 1;
  const xmlNode* n = root;
  while (n) {
    if (n->type == XML_ELEMENT_NODE) {
      if (++elements > limits.max_elements) {
        f.Error("TOO_MANY_ELEMENTS",
                "more than " + std::to_string(limits.max_elements) + " elements", true);
        return false;
      }
      max_depth = std::max(max_depth, depth);
      if (max_depth > limits.max_depth) {
        f.Error("TOO_DEEP", "elements nested deeper than " + std::to_string(limits.max_depth),
                true);
        return false;
      }
    }
    if (n->type == XML_ELEMENT_NODE && n->children) {
      n = n->children;
      ++depth;
      continue;
    }
    while (n && !n->next && n != root) {
      n = n->parent;
      --depth;
    }
    if (!n || n == root) break;
    n = n->next;
  }
  return true;
}

// Finds <alert> elements in the CAP 1.2 namespace below `n` (not descending into them).
void FindCapAlerts(const xmlNode* n, std::vector<const xmlNode*>& out) {
  for (const xmlNode* c = n->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (Name(c) == "alert" && NsHref(c) == kCap12Ns) {
      out.push_back(c);
    } else {
      FindCapAlerts(c, out);
    }
  }
}

}  // namespace

std::string_view CapXsdText();  // defined in the generated cap_xsd_embedded.cpp

unsigned long ExternalLoadAttempts() { return g_external_loads.load(); }

CapXmlReader::CapXmlReader(CapXmlReaderSettings settings) : settings_(settings) {
  const CompiledSchema& s = Schema();
  if (s.schema == nullptr) {
    // The schema is compiled into the binary: failing here is a build defect, not bad input.
    throw std::runtime_error("embedded CAP 1.2 XSD does not compile: " + s.error);
  }
}

cap::CheckResult CapXmlReader::Read(std::string_view body) const {
  cap::CheckResult result;
  cap::Findings f;
  auto finish = [&]() {
    result.errors = std::move(f.errors);
    result.warnings = std::move(f.warnings);
    cap::Finalize(result);
    return std::move(result);
  };
  const cap::DecodeLimits& limits = settings_.limits;
  if (body.size() > limits.max_body_bytes) {
    f.Error("TOO_LARGE",
            "body has " + std::to_string(body.size()) + " bytes; limit " +
                std::to_string(limits.max_body_bytes),
            true);
    return finish();
  }
  {
    // Only ASCII-compatible encodings: the DOCTYPE scan below reads bytes, and UTF-16/32
    // would hide a DOCTYPE from it. CAP feeds are UTF-8 (or declare ISO-8859-x).
    size_t i = StartsWith(body, "\xEF\xBB\xBF") ? 3 : 0;
    while (i < body.size() && IsSpace(body[i])) ++i;
    // NUL is never a character of an 8-bit/UTF-8 XML document; it marks UTF-16/32 (also a
    // BOM-less UTF-16LE document, which starts with '<' and would pass the check below).
    const bool has_nul = body.find('\0') != std::string_view::npos;
    if (has_nul || i >= body.size() || body[i] != '<') {
      const auto b = i < body.size() ? static_cast<unsigned char>(body[i]) : 0;
      if (has_nul || (i < body.size() && (b == 0xFE || b == 0xFF))) {
        f.Error("UNSUPPORTED_ENCODING", "UTF-16/32 input; send UTF-8 (or ISO-8859-x declared)",
                true);
      } else {
        f.Error("XML_MALFORMED",
                i >= body.size() ? "empty document" : "document does not start with '<'", true);
      }
      return finish();
    }
    if (i > 0 && IsSpace(body[i - 1])) {
      // Whitespace before `<?xml` is not well-formed XML, but feeds do it and it changes
      // nothing. (A UTF-8 BOM alone is fine and stays.)
      f.Warn("LEADING_WHITESPACE_IGNORED", "whitespace before the XML declaration was ignored");
      body = body.substr(i);
    }
  }
  if (PrologHasDoctype(body)) {
    f.Error("XML_DOCTYPE_FORBIDDEN",
            "document declares a DOCTYPE; DTDs and entities are refused (XXE protection)", true);
    return finish();
  }

  std::vector<XmlError> parse_errors;
  std::unique_ptr<xmlDoc, DocDeleter> doc;
  {
    ScopedErrorSink sink(&parse_errors);
    // NONET: no network even if something asked; no NOENT/DTDLOAD/DTDATTR/XINCLUDE: entities
    // are never substituted, no DTD is loaded, XInclude is never processed.
    const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                        XML_PARSE_NOBLANKS | XML_PARSE_COMPACT;
    doc.reset(xmlReadMemory(body.data(), static_cast<int>(body.size()), nullptr, nullptr, options));
  }
  if (!doc) {
    std::string msg = "not well-formed XML";
    if (!parse_errors.empty()) {
      msg =
          "line " + std::to_string(parse_errors.front().line) + ": " + parse_errors.front().message;
    }
    f.Error("XML_MALFORMED", msg, true);
    return finish();
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    f.Error("XML_DOCTYPE_FORBIDDEN", "document declares a DOCTYPE", true);
    return finish();
  }
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (root == nullptr) {
    f.Error("XML_MALFORMED", "no root element", true);
    return finish();
  }
  if (!CheckTreeLimits(root, limits, f)) return finish();

  const std::string_view root_name = Name(root);
  const std::string_view root_ns = NsHref(root);
  const xmlNode* alert_el = nullptr;
  bool validate_whole_doc = false;
  if (root_name == "alert" && root_ns == kCap12Ns) {
    alert_el = root;
    validate_whole_doc = true;
  } else if (root_name == "alert" && StartsWith(root_ns, kCapNsPrefix)) {
    f.Error("INVALID_NAMESPACE",
            "namespace " + std::string(root_ns) + " is not CAP 1.2 (" + kCap12Ns + ")", true);
    alert_el = root;  // read it anyway, so operators see what it was
  } else if (root_name == "alert") {
    f.Error("INVALID_NAMESPACE",
            "<alert> in namespace '" + std::string(root_ns) + "', expected " + kCap12Ns, true);
    alert_el = root;
  } else if (root_name == "EDXLDistribution" && StartsWith(root_ns, kEdxlNsPrefix)) {
    std::vector<const xmlNode*> inner;
    FindCapAlerts(root, inner);
    if (inner.size() != 1) {
      f.Error("NOT_AN_ALERT",
              "EDXL-DE envelope carries " + std::to_string(inner.size()) +
                  " CAP 1.2 alerts; exactly one is supported",
              true);
      return finish();
    }
    f.Error("EDXL_WRAPPED",
            "CAP alert read from inside an EDXL-DE envelope; send the bare <alert> document",
            false);
    alert_el = inner.front();
  } else {
    std::vector<const xmlNode*> inner;
    FindCapAlerts(root, inner);
    f.Error("NOT_AN_ALERT",
            "root element <" + std::string(root_name) + "> is not a CAP <alert>" +
                (inner.empty() ? std::string()
                               : " (non-standard container of " + std::to_string(inner.size()) +
                                     " alerts; send one alert per document)"),
            true);
    return finish();
  }

  if (settings_.xsd_validate && NsHref(alert_el) == kCap12Ns) {
    std::vector<XmlError> xsd_errors;
    xmlSchemaValidCtxtPtr vctxt = xmlSchemaNewValidCtxt(Schema().schema);
    if (vctxt == nullptr) {
      f.Error("INTERNAL", "cannot create an XSD validation context", true);
      return finish();
    }
    xmlSchemaSetValidStructuredErrors(vctxt, CollectError, &xsd_errors);
    int rc;
    {
      ScopedErrorSink sink(&xsd_errors);  // anything libxml2 reports outside the context
      rc = validate_whole_doc ? xmlSchemaValidateDoc(vctxt, doc.get())
                              : xmlSchemaValidateOneElement(vctxt, const_cast<xmlNode*>(alert_el));
    }
    xmlSchemaFreeValidCtxt(vctxt);
    if (rc != 0 && xsd_errors.empty()) {
      f.Error("XSD_INVALID", "schema validation failed (code " + std::to_string(rc) + ")", false);
    }
    MapXsdErrors(xsd_errors, f);
  }

  result.alert = AlertBuilder(NsHref(alert_el), f).Build(alert_el);
  cap::CheckComplexityLimits(*result.alert, limits, f);
  f.Append(cap::Validate(*result.alert));
  return finish();
}

}  // namespace fanout::adapters::capxml
