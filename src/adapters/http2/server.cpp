#include "adapters/http2/server.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "adapters/http2/session_memory.hpp"
#include "adapters/http2/transport.hpp"

namespace fanout::adapters::http2 {

using Clock = std::chrono::steady_clock;

struct Server::Counters {
  std::atomic<uint64_t> accepted{0}, streams{0}, goaways{0}, refused{0}, http1{0};
  std::atomic<uint32_t> max_concurrent{0};
  std::atomic<uint64_t> open{0}, refused_connections{0}, timeouts{0};
};

// Open connections in total and per client address (max_connections[_per_client]).
struct Server::Clients {
  std::mutex mu;
  size_t total = 0;
  std::unordered_map<std::string, size_t> per_client;

  bool Admit(const ServerSettings& s, const std::string& remote) {
    std::lock_guard lock(mu);
    if (s.max_connections > 0 && total >= s.max_connections) return false;
    if (s.max_connections_per_client > 0) {
      size_t& n = per_client[remote];
      if (n >= s.max_connections_per_client) return false;
      ++n;
    }
    ++total;
    return true;
  }
  void Release(const ServerSettings& s, const std::string& remote) {
    std::lock_guard lock(mu);
    --total;
    if (s.max_connections_per_client > 0) {
      auto it = per_client.find(remote);
      if (it != per_client.end() && --it->second == 0) per_client.erase(it);
    }
  }
};

// Answers of asynchronous handlers travel to the connection's worker through its mailbox
// (any thread posts, the worker drains it after the eventfd wakes it). The mailbox owns the
// eventfd, so a late answer after the server stopped writes to a live descriptor.
struct Mail {
  enum class Kind : uint8_t { kSend, kBegin, kChunk, kEnd };
  Kind kind = Kind::kSend;
  uint64_t conn_id = 0;
  int32_t stream_id = 0;
  uint64_t seq = 0;
  ServerResponse response;
  std::string chunk;
};

struct Mailbox {
  std::mutex mu;
  std::vector<Mail> mail;
  int evfd = -1;

  Mailbox() {
    evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (evfd < 0) throw std::runtime_error("eventfd failed");
  }
  ~Mailbox() { ::close(evfd); }
  void Wake() const {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t r = ::write(evfd, &one, sizeof(one));
  }
  void Post(Mail m) {
    {
      std::lock_guard lock(mu);
      mail.push_back(std::move(m));
    }
    Wake();
  }
};

struct Responder::Exchange {
  std::shared_ptr<Mailbox> mailbox;
  uint64_t conn_id = 0;
  int32_t stream_id = 0;
  uint64_t seq = 0;               // HTTP/1.1: the request's number on its connection
  std::atomic<bool> gone{false};  // the client or the stream went away
  std::atomic<int> state{0};      // 0 unanswered, 1 streaming, 2 answered

  void Post(Mail::Kind kind, ServerResponse response, std::string chunk) {
    Mail m;
    m.kind = kind;
    m.conn_id = conn_id;
    m.stream_id = stream_id;
    m.seq = seq;
    m.response = std::move(response);
    m.chunk = std::move(chunk);
    mailbox->Post(std::move(m));
  }
};

void Responder::Send(ServerResponse response) const {
  int unanswered = 0;
  if (!x_ || !x_->state.compare_exchange_strong(unanswered, 2)) return;
  if (!x_->gone) x_->Post(Mail::Kind::kSend, std::move(response), {});
}

void Responder::Begin(ServerResponse head) const {
  int unanswered = 0;
  if (!x_ || !x_->state.compare_exchange_strong(unanswered, 1)) return;
  if (!x_->gone) x_->Post(Mail::Kind::kBegin, std::move(head), {});
}

bool Responder::Write(std::string chunk) const {
  if (!x_ || x_->state.load() != 1 || x_->gone) return false;
  x_->Post(Mail::Kind::kChunk, {}, std::move(chunk));
  return true;
}

void Responder::End() const {
  int streaming = 1;
  if (!x_ || !x_->state.compare_exchange_strong(streaming, 2)) return;
  if (!x_->gone) x_->Post(Mail::Kind::kEnd, {}, {});
}

bool Responder::Gone() const { return !x_ || x_->gone.load(); }

namespace {

// Streams are recycled per worker: their strings and header slots keep their capacity,
// so a request of the usual shape allocates nothing while it is received.
struct SStream {
  ServerRequest req;
  ServerResponse resp;
  size_t nheaders = 0;  // slots of req.headers filled so far (the rest are spare)
  size_t off = 0;
  bool ignored = false;
  bool handled = false;
  Clock::time_point begun;                 // HTTP/2: when its HEADERS arrived
  std::shared_ptr<Responder::Exchange> x;  // asynchronous handler: its way back
  bool streaming = false;                  // a streamed body (Responder::Begin)
  bool stream_ended = false;               // ... and its End
  std::string sbuf;                        // streamed bytes not yet taken by nghttp2
  size_t soff = 0;

  void Reset() {
    if (x) {
      x->gone = true;
      x.reset();
    }
    streaming = false;
    stream_ended = false;
    sbuf.clear();
    soff = 0;
    req.method.clear();
    req.path.clear();
    req.authority.clear();
    req.body.clear();
    req.body_truncated = false;
    resp = ServerResponse{};
    nheaders = 0;
    off = 0;
    ignored = false;
    handled = false;
  }
};

struct Timer {
  Clock::time_point due;
  uint64_t conn_id;
  int32_t stream_id;  // kHttp1Timer: the pending response of an HTTP/1.1 connection
  bool operator>(const Timer& o) const { return due > o.due; }
};
constexpr int32_t kHttp1Timer = -1;

// ---- HTTP/1.1 on cleartext ports ---------------------------------------------------
// The connection's first bytes decide: the HTTP/2 client preface means h2c, anything
// else is HTTP/1.1 (RFC 9113 §3.4: a server can tell them apart by the preface).
constexpr std::string_view kH2Preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
// While a response waits to be written, pipelined requests are not parsed beyond this.
constexpr size_t kH1MaxPendingWrite = 256 * 1024;

// One HTTP/1.1 connection: requests are served one at a time, in order (pipelining
// works, without parallelism). The request being served lives in `st`.
struct H1Conn {
  enum class State : uint8_t { kHead, kBody, kBusy };
  State state = State::kHead;
  std::string in;      // received and not consumed yet
  size_t scanned = 0;  // bytes of `in` already searched for the end of the header block
  uint64_t body_left = 0;
  SStream st;
  bool keep_alive = true;
  bool http10 = false;
  bool head = false;             // HEAD: answer without the body
  bool expect_continue = false;  // "Expect: 100-continue"
  bool closing = false;          // no more requests: write what is queued, then close
  bool streaming = false;        // the response's head is out, its chunks follow
  uint64_t seq = 0;              // requests dispatched on this connection
};

bool IsTchar(char ch) {
  auto c = static_cast<unsigned char>(ch);
  if (std::isalnum(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
}

bool IsDigit(char ch) { return ch >= '0' && ch <= '9'; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view TrimOws(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Offset just past the empty line ending the header block (CRLF or bare LF line ends,
// RFC 9112 §2.2), or npos; `*scanned` remembers how far the search got.
size_t FindHeadEnd(std::string_view s, size_t* scanned) {
  size_t i = *scanned;
  while ((i = s.find('\n', i)) != std::string_view::npos) {
    if (i + 1 >= s.size()) break;
    if (s[i + 1] == '\n') return i + 2;
    if (s[i + 1] == '\r') {
      if (i + 2 >= s.size()) break;
      if (s[i + 2] == '\n') return i + 3;
    }
    ++i;
  }
  *scanned = i == std::string_view::npos ? s.size() : i;
  return std::string_view::npos;
}

// Parses request line and headers into h.st.req and the framing fields of `h`.
// Returns 0, or the status to answer before closing (400, 411, 505).
int ParseH1Head(std::string_view head, H1Conn& h) {
  ServerRequest& req = h.st.req;
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    lines.push_back(line);
  }
  if (lines.empty()) return 400;
  // request-line = method SP request-target SP HTTP-version
  std::string_view rl = lines[0];
  size_t sp1 = rl.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : rl.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || rl.find(' ', sp2 + 1) != std::string_view::npos) {
    return 400;
  }
  std::string_view method = rl.substr(0, sp1);
  std::string_view target = rl.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = rl.substr(sp2 + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), IsTchar)) return 400;
  if (target.empty()) return 400;
  for (char ch : target) {
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) return 400;
  }
  if (version.size() != 8 || !version.starts_with("HTTP/") || !IsDigit(version[5]) ||
      version[6] != '.' || !IsDigit(version[7])) {
    return 400;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return 505;
  h.http10 = version == "HTTP/1.0";
  req.method.assign(method);
  req.authority.clear();
  if (target[0] == '/' || target == "*") {
    req.path.assign(target);
  } else {
    // absolute-form (RFC 9112 §3.2.2): the authority comes from the URI, Host is ignored.
    size_t scheme = target.find("://");
    if (scheme == std::string_view::npos || !(IEquals(target.substr(0, scheme), "http") ||
                                              IEquals(target.substr(0, scheme), "https"))) {
      return 400;
    }
    std::string_view rest = target.substr(scheme + 3);
    size_t slash = rest.find_first_of("/?");
    req.authority.assign(rest.substr(0, slash));
    req.path = slash == std::string_view::npos ? std::string("/") : std::string(rest.substr(slash));
    if (req.path[0] == '?') req.path.insert(0, "/");
    if (req.authority.empty()) return 400;
  }
  bool absolute = !req.authority.empty();
  req.headers.clear();
  int hosts = 0;
  bool has_length = false, has_te = false, conn_close = false, keep_alive = false;
  uint64_t length = 0;
  h.expect_continue = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line[0] == ' ' || line[0] == '\t') return 400;  // obsolete line folding
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return 400;
    std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), IsTchar)) return 400;
    std::string_view value = TrimOws(line.substr(colon + 1));
    for (char ch : value) {
      if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f) return 400;
    }
    std::string lname(name);
    for (char& ch : lname) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lname == "host") {
      ++hosts;
      if (!absolute) req.authority.assign(value);
      continue;
    }
    if (lname == "content-length") {
      if (value.empty() || value.size() > 18 || !std::all_of(value.begin(), value.end(), IsDigit)) {
        return 400;
      }
      uint64_t v = std::stoull(std::string(value));
      if (has_length && v != length) return 400;
      has_length = true;
      length = v;
    } else if (lname == "transfer-encoding") {
      has_te = true;
      continue;
    } else if (lname == "connection") {
      while (!value.empty()) {
        size_t comma = value.find(',');
        std::string_view token = TrimOws(value.substr(0, comma));
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
        if (IEquals(token, "close")) conn_close = true;
        if (IEquals(token, "keep-alive")) keep_alive = true;
      }
      continue;
    } else if (lname == "expect") {
      h.expect_continue = IEquals(value, "100-continue");
    } else if (lname == "keep-alive" || lname == "proxy-connection" || lname == "upgrade" ||
               lname == "http2-settings" || lname == "te") {
      continue;  // hop-by-hop (HTTP/2 forbids them in requests): not the handler's business
    }
    req.headers.emplace_back(std::move(lname), std::string(value));
  }
  // RFC 9112 §6.1: a Transfer-Encoding the server does not decode (we decode none) cannot
  // be framed; with Content-Length as well it is a smuggling attempt.
  if (has_te) return has_length ? 400 : 411;
  if (!h.http10 && hosts != 1) return 400;  // RFC 9112 §3.2
  if (hosts > 1) return 400;
  h.keep_alive = !conn_close && (!h.http10 || keep_alive);
  h.head = req.method == "HEAD";
  h.body_left = length;
  return 0;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

// IMF-fixdate for the Date header (RFC 9110 §5.6.7), without the locale of strftime.
void AppendHttpDate(std::string& out) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  out += buf;
}

// Status line and headers of an HTTP/1.1 response; `chunked`: a streamed body follows
// (HTTP/1.0 clients get it delimited by the connection's close instead).
void AppendH1Head(std::string& out, const ServerResponse& r, bool keep_alive, bool http10,
                  bool chunked) {
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += ReasonPhrase(r.status);
  out += "\r\ndate: ";
  AppendHttpDate(out);
  out += "\r\n";
  for (const auto& [n, v] : r.headers) {
    if (n.empty() || n[0] == ':' || n == "content-length" || n == "connection" ||
        n == "transfer-encoding" || n == "keep-alive") {
      continue;  // framing is ours
    }
    out += n;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  bool no_body = r.status < 200 || r.status == 204 || r.status == 304;
  if (chunked && !http10) {
    out += "transfer-encoding: chunked\r\n";
  } else if (!no_body && !chunked) {
    out += "content-length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  if (!keep_alive) {
    out += "connection: close\r\n";
  } else if (http10) {
    out += "connection: keep-alive\r\n";
  }
  out += "\r\n";
}

// Status line, headers and body of an HTTP/1.1 response.
void AppendH1Response(std::string& out, const ServerResponse& r, bool head, bool keep_alive,
                      bool http10) {
  AppendH1Head(out, r, keep_alive, http10, false);
  bool no_body = r.status < 200 || r.status == 204 || r.status == 304;
  if (!head && !no_body) out += r.body;
}

// The client's address without the port ("::ffff:" dropped from mapped IPv4).
std::string AddressOf(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof(buf));
  } else if (ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof(buf));
  }
  std::string out(buf);
  if (out.starts_with("::ffff:") && out.find('.') != std::string::npos) out.erase(0, 7);
  return out;
}

constexpr std::string_view kTooManyConnections =
    "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nretry-after: 1\r\n"
    "content-length: 21\r\nconnection: close\r\n\r\ntoo many connections\n";

}  // namespace

class Server::Worker {
 public:
  Worker(Server& server, std::shared_ptr<TlsContext> tls)
      : srv_(server), s_(server.settings_), tls_(std::move(tls)) {
    mailbox_ = std::make_shared<Mailbox>();
    evfd_ = mailbox_->evfd;
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw std::runtime_error("epoll_create1 failed");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeTag;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = kListenTag;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, srv_.listen_fd_, &ev) != 0) {
      throw std::runtime_error(std::string("epoll add listen: ") + std::strerror(errno));
    }
  }
  ~Worker() { ::close(epfd_); }
  void Start() {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "h2-server");
      BlockSigpipe();
      Run();
    });
  }
  void Stop() {
    stop_ = true;
    mailbox_->Wake();
    if (thread_.joinable()) thread_.join();
  }

 private:
  static constexpr uint64_t kWakeTag = 1;
  static constexpr uint64_t kListenTag = 2;
  static constexpr uint32_t kUnregistered = UINT32_MAX;  // SConn::events before epoll_ctl ADD

  // What a connection is waiting for, and so which timeout applies (ServerSettings).
  enum class Wait : uint8_t { kNone, kHandshake, kFirst, kHead, kBody, kIdle };

  struct SConn {
    Worker* w = nullptr;
    uint64_t id = 0;
    int fd = -1;
    std::string remote;
    std::string client_cert;  // CN of the verified client certificate, after the handshake
    Wait wait = Wait::kNone;
    Clock::time_point deadline = Clock::time_point::max();
    std::unique_ptr<Transport> t;
    bool handshake_done = false;
    nghttp2_session* session = nullptr;  // null on a cleartext connection until the preface
    std::unique_ptr<H1Conn> h1;          // set when the connection turned out HTTP/1.1
    uint8_t preface_seen = 0;            // cleartext: bytes of the HTTP/2 preface received
    std::string wbuf;
    size_t woff = 0;
    uint32_t events = kUnregistered;
    uint64_t streams_started = 0;
    int32_t goaway_last_id = INT32_MAX;
    std::unordered_map<int32_t, std::unique_ptr<SStream>> streams;
    bool lingering = false;
    Clock::time_point linger_deadline;
    bool dirty = false;
  };

  // ---- nghttp2 callbacks --------------------------------------------------
  static int OnBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto* c = static_cast<SConn*>(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    int32_t id = frame->hd.stream_id;
    Worker* w = c->w;
    std::unique_ptr<SStream> st;
    if (w->spare_.empty()) {
      st = std::make_unique<SStream>();
    } else {
      st = std::move(w->spare_.back());  // Reset() when it was put back
      w->spare_.pop_back();
    }
    st->req.connection_id = c->id;
    st->req.remote = c->remote;
    st->req.client_cert = c->client_cert;
    st->begun = Clock::now();
    if (id > c->goaway_last_id) {
      // Arrived after we decided to go away: refuse (the client retries it elsewhere).
      st->ignored = true;
      w->srv_.counters_->refused++;
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
    } else {
      w->srv_.counters_->streams++;
      c->streams_started++;
      uint32_t active = static_cast<uint32_t>(c->streams.size() + 1);
      auto& mx = w->srv_.counters_->max_concurrent;
      uint32_t cur = mx.load(std::memory_order_relaxed);
      while (active > cur && !mx.compare_exchange_weak(cur, active)) {
      }
      if (w->s_.goaway_after_streams > 0 && c->streams_started == w->s_.goaway_after_streams) {
        c->goaway_last_id = id;
        w->srv_.counters_->goaways++;
        nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR, nullptr, 0);
      }
    }
    nghttp2_session_set_stream_user_data(session, id, st.get());
    c->streams[id] = std::move(st);
    return 0;
  }
  static int OnHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto* st =
        static_cast<SStream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
    if (st == nullptr || st->ignored) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":method") {
      st->req.method.assign(v);
    } else if (n == ":path") {
      st->req.path.assign(v);
    } else if (n == ":authority") {
      st->req.authority.assign(v);
    } else if (!n.empty() && n[0] != ':') {
      auto& hs = st->req.headers;
      if (st->nheaders < hs.size()) {
        hs[st->nheaders].first.assign(n);
        hs[st->nheaders].second.assign(v);
      } else {
        hs.emplace_back(std::string(n), std::string(v));
      }
      ++st->nheaders;
    }
    return 0;
  }
  static int OnData(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data,
                    size_t len, void* user) {
    auto* c = static_cast<SConn*>(user);
    auto* st = static_cast<SStream*>(nghttp2_session_get_stream_user_data(session, stream_id));
    if (st == nullptr || st->ignored) return 0;
    size_t cap = c->w->s_.max_request_body;
    size_t room = cap - std::min(cap, st->req.body.size());
    if (len > room) st->req.body_truncated = true;
    st->req.body.append(reinterpret_cast<const char*>(data), std::min(len, room));
    return 0;
  }
  static int OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto* c = static_cast<SConn*>(user);
    if (frame->hd.type == NGHTTP2_HEADERS) {  // header block complete: drop spare slots
      auto* st =
          static_cast<SStream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
      if (st != nullptr) st->req.headers.resize(st->nheaders);
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      auto* st =
          static_cast<SStream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
      if (st != nullptr && !st->ignored && !st->handled) {
        st->handled = true;
        c->w->Handle(*c, frame->hd.stream_id, *st);
      }
    }
    return 0;
  }
  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t, void* user) {
    auto* c = static_cast<SConn*>(user);
    auto it = c->streams.find(stream_id);
    if (it == c->streams.end()) return 0;
    auto& spare = c->w->spare_;
    if (spare.size() < kMaxSpareStreams) {
      it->second->Reset();  // now: do not keep the response body and on_sent captures alive
      spare.push_back(std::move(it->second));
    }
    c->streams.erase(it);
    return 0;
  }
  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source* source, void*) {
    auto* st = static_cast<SStream*>(source->ptr);
    const std::string& b = st->resp.body;
    size_t n = std::min(length, b.size() - st->off);
    std::memcpy(buf, b.data() + st->off, n);
    st->off += n;
    if (st->off == b.size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  void Handle(SConn& c, int32_t id, SStream& st) {
    if (srv_.async_handler_) {
      st.x = NewExchange(c, id, 0);
      srv_.async_handler_(st.req, Responder(st.x));
      return;
    }
    st.resp = srv_.handler_(st.req);
    if (st.resp.delay.count() > 0) {
      timers_.push({Clock::now() + st.resp.delay, c.id, id});
    } else {
      Respond(c, id, st);
    }
  }

  void Respond(SConn& c, int32_t id, SStream& st) {
    if (st.resp.reset) {
      nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
      MarkDirty(c);
      return;
    }
    std::string status = std::to_string(st.resp.status);
    std::string clen = std::to_string(st.resp.body.size());
    std::vector<nghttp2_nv> nva;
    auto add = [&](const std::string& n, const std::string& v) {
      uint8_t flags = NGHTTP2_NV_FLAG_NONE;
      for (const auto& ni : s_.no_index_headers) {
        if (ni == n) flags = NGHTTP2_NV_FLAG_NO_INDEX;
      }
      nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                     reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                     flags});
    };
    static const std::string kStatus = ":status", kLen = "content-length";
    add(kStatus, status);
    for (const auto& h : st.resp.headers) add(h.first, h.second);
    if (!st.resp.body.empty()) add(kLen, clen);
    nghttp2_data_provider prd{};
    prd.source.ptr = &st;
    prd.read_callback = ReadBody;
    int rv = nghttp2_submit_response(c.session, id, nva.data(), nva.size(),
                                     st.resp.body.empty() ? nullptr : &prd);
    MarkDirty(c);
    if (rv == 0 && st.resp.on_sent) st.resp.on_sent();
  }

  std::shared_ptr<Responder::Exchange> NewExchange(const SConn& c, int32_t stream_id,
                                                   uint64_t seq) {
    auto x = std::make_shared<Responder::Exchange>();
    x->mailbox = mailbox_;
    x->conn_id = c.id;
    x->stream_id = stream_id;
    x->seq = seq;
    return x;
  }

  static ssize_t ReadStreamed(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                              uint32_t* data_flags, nghttp2_data_source* source, void*) {
    auto* st = static_cast<SStream*>(source->ptr);
    size_t avail = st->sbuf.size() - st->soff;
    if (avail == 0) {
      if (!st->stream_ended) return NGHTTP2_ERR_DEFERRED;
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    size_t n = std::min(length, avail);
    std::memcpy(buf, st->sbuf.data() + st->soff, n);
    st->soff += n;
    if (st->soff == st->sbuf.size()) {
      st->sbuf.clear();
      st->soff = 0;
    }
    return static_cast<ssize_t>(n);
  }

  // HTTP/2 response whose body follows chunk by chunk (DATA frames as they come).
  void RespondStreamed(SConn& c, int32_t id, SStream& st) {
    std::string status = std::to_string(st.resp.status);
    std::vector<nghttp2_nv> nva;
    auto add = [&](const std::string& n, const std::string& v) {
      nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                     reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                     NGHTTP2_NV_FLAG_NONE});
    };
    static const std::string kStatus = ":status";
    add(kStatus, status);
    for (const auto& h : st.resp.headers) {
      if (h.first != "content-length" && h.first != "transfer-encoding") add(h.first, h.second);
    }
    nghttp2_data_provider prd{};
    prd.source.ptr = &st;
    prd.read_callback = ReadStreamed;
    st.streaming = true;
    nghttp2_submit_response(c.session, id, nva.data(), nva.size(), &prd);
    MarkDirty(c);
  }

  // ---- answers of asynchronous handlers -------------------------------------------------
  void DrainMail() {
    {
      std::lock_guard lock(mailbox_->mu);
      mail_.swap(mailbox_->mail);
    }
    for (Mail& m : mail_) {
      auto it = conns_.find(m.conn_id);
      if (it == conns_.end()) continue;
      SConn& c = *it->second;
      if (c.lingering) continue;
      if (c.session == nullptr) {
        if (c.h1) OnMailH1(c, m);
        continue;
      }
      auto s = c.streams.find(m.stream_id);
      if (s == c.streams.end() || s->second->ignored) continue;
      SStream& st = *s->second;
      switch (m.kind) {
        case Mail::Kind::kSend:
          st.resp = std::move(m.response);
          Respond(c, m.stream_id, st);
          break;
        case Mail::Kind::kBegin:
          st.resp = std::move(m.response);
          RespondStreamed(c, m.stream_id, st);
          break;
        case Mail::Kind::kChunk:
        case Mail::Kind::kEnd:
          if (!st.streaming) break;
          if (m.kind == Mail::Kind::kEnd) {
            st.stream_ended = true;
          } else if (st.sbuf.size() - st.soff + m.chunk.size() > s_.max_stream_backlog) {
            st.ignored = true;  // a reader this slow is dropped, not buffered for
            nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, m.stream_id, NGHTTP2_CANCEL);
            if (st.x) st.x->gone = true;
            MarkDirty(c);
            break;
          } else {
            st.sbuf += m.chunk;
          }
          nghttp2_session_resume_data(c.session, m.stream_id);
          MarkDirty(c);
          break;
      }
    }
    mail_.clear();
  }

  void OnMailH1(SConn& c, Mail& m) {
    H1Conn& h = *c.h1;
    if (h.state != H1Conn::State::kBusy || h.closing || !h.st.x || h.st.x->seq != m.seq) return;
    switch (m.kind) {
      case Mail::Kind::kSend:
        h.st.resp = std::move(m.response);
        RespondH1(c);
        return;
      case Mail::Kind::kBegin:
        if (h.streaming) return;
        h.streaming = true;
        if (h.http10) h.keep_alive = false;  // its body ends with the connection
        AppendH1Head(c.wbuf, m.response, h.keep_alive, h.http10, true);
        MarkDirty(c);
        return;
      case Mail::Kind::kChunk:
        if (!h.streaming || h.head || m.chunk.empty()) return;
        if (c.wbuf.size() - c.woff + m.chunk.size() > s_.max_stream_backlog) {
          h.st.x->gone = true;  // a reader this slow is dropped, not buffered for
          h.closing = true;
          Close(c);
          return;
        }
        if (h.http10) {
          c.wbuf += m.chunk;
        } else {
          char size[20];
          std::snprintf(size, sizeof(size), "%zx\r\n", m.chunk.size());
          c.wbuf += size;
          c.wbuf += m.chunk;
          c.wbuf += "\r\n";
        }
        MarkDirty(c);
        return;
      case Mail::Kind::kEnd:
        if (!h.streaming) return;
        if (!h.http10 && !h.head) c.wbuf += "0\r\n\r\n";
        h.streaming = false;
        FinishH1(c);
        MarkDirty(c);
        return;
    }
  }

  // ---- HTTP/1.1 (cleartext) -------------------------------------------------
  // Bytes of a cleartext connection without an HTTP/2 session. Returns false when the
  // connection is being closed (stop reading).
  bool OnCleartextBytes(SConn& c, const char* data, size_t n) {
    if (!c.h1) {
      size_t seen = c.preface_seen;
      size_t take = std::min(n, kH2Preface.size() - seen);
      if (std::string_view(data, take) == kH2Preface.substr(seen, take)) {
        c.preface_seen = static_cast<uint8_t>(seen + take);
        if (c.preface_seen < kH2Preface.size()) return true;
        StartSession(c);
        ssize_t rv = nghttp2_session_mem_recv(
            c.session, reinterpret_cast<const uint8_t*>(kH2Preface.data()), kH2Preface.size());
        if (rv >= 0 && n > take) {
          rv = nghttp2_session_mem_recv(c.session, reinterpret_cast<const uint8_t*>(data + take),
                                        n - take);
        }
        if (rv < 0) {
          Flush(c);
          Close(c);
          return false;
        }
        return true;
      }
      NewH1(c);
      c.h1->in.assign(kH2Preface.substr(0, seen));
    }
    H1Conn& h = *c.h1;
    h.in.append(data, n);
    if (c.wait == Wait::kIdle) Expect(c, Wait::kHead);  // a new request begins
    MarkDirty(c);
    ProcessH1(c);
    // While a request is being answered or responses pile up unread, read no further
    // (pipelined requests wait in the socket); FlushH1() re-arms EPOLLIN.
    return h.state != H1Conn::State::kBusy && !h.closing &&
           c.wbuf.size() - c.woff <= kH1MaxPendingWrite;
  }

  void NewH1(SConn& c) {
    c.h1 = std::make_unique<H1Conn>();
    c.h1->st.req.connection_id = c.id;
    c.h1->st.req.http1 = true;
  }

  // Parses and serves the buffered requests until one is pending or input runs out.
  void ProcessH1(SConn& c) {
    H1Conn& h = *c.h1;
    while (!h.closing && h.state != H1Conn::State::kBusy &&
           c.wbuf.size() - c.woff <= kH1MaxPendingWrite) {
      if (h.state == H1Conn::State::kHead) {
        // RFC 9112 §2.2: empty lines before a request line are ignored.
        size_t skip = 0;
        while (skip < h.in.size() && (h.in[skip] == '\r' || h.in[skip] == '\n')) ++skip;
        if (skip > 0) {
          h.in.erase(0, skip);
          h.scanned = 0;
        }
        size_t end = FindHeadEnd(h.in, &h.scanned);
        if (end == std::string::npos) {
          if (h.in.size() > s_.max_http1_header_bytes) FailH1(c, 431);
          return;
        }
        if (end > s_.max_http1_header_bytes) {
          FailH1(c, 431);
          return;
        }
        h.st.Reset();
        int status = ParseH1Head(std::string_view(h.in).substr(0, end), h);
        h.in.erase(0, end);
        h.scanned = 0;
        if (status != 0) {
          FailH1(c, status);
          return;
        }
        h.state = H1Conn::State::kBody;
        Expect(c, h.body_left > 0 ? Wait::kBody : Wait::kNone);
        if (h.expect_continue && h.body_left > 0 && !h.http10) {
          c.wbuf += "HTTP/1.1 100 Continue\r\n\r\n";
          MarkDirty(c);
        }
      }
      // kBody: keep up to max_request_body, drop the rest (body_truncated), as HTTP/2 does.
      size_t take = static_cast<size_t>(std::min<uint64_t>(h.body_left, h.in.size()));
      std::string& body = h.st.req.body;
      size_t room = s_.max_request_body - std::min(s_.max_request_body, body.size());
      if (take > room) h.st.req.body_truncated = true;
      body.append(h.in, 0, std::min(take, room));
      h.in.erase(0, take);
      h.body_left -= take;
      if (h.body_left > 0) return;
      h.state = H1Conn::State::kBusy;
      Expect(c, Wait::kNone);  // the handler's time is not the client's
      srv_.counters_->http1++;
      h.st.req.remote = c.remote;
      h.st.req.client_cert = c.client_cert;
      if (srv_.async_handler_) {
        h.st.x = NewExchange(c, kHttp1Timer, ++h.seq);
        srv_.async_handler_(h.st.req, Responder(h.st.x));
        return;
      }
      h.st.resp = srv_.handler_(h.st.req);
      if (h.st.resp.delay.count() > 0) {
        timers_.push({Clock::now() + h.st.resp.delay, c.id, kHttp1Timer});
        return;
      }
      RespondH1(c);
    }
  }

  void RespondH1(SConn& c) {
    H1Conn& h = *c.h1;
    if (h.state != H1Conn::State::kBusy || h.closing) return;
    ServerResponse& r = h.st.resp;
    if (r.reset) {  // HTTP/1.1 has no stream to reset: drop the connection
      h.closing = true;
      Close(c);
      return;
    }
    AppendH1Response(c.wbuf, r, h.head, h.keep_alive, h.http10);
    MarkDirty(c);
    if (r.on_sent) r.on_sent();
    FinishH1(c);
  }

  // The response is out: next request, or close.
  void FinishH1(SConn& c) {
    H1Conn& h = *c.h1;
    h.st.Reset();
    if (h.keep_alive) {
      h.state = H1Conn::State::kHead;
      Expect(c, h.in.empty() ? Wait::kIdle : Wait::kHead);
    } else {
      h.closing = true;
    }
  }

  // The client half-closed (e.g. `nc -N`): answer what it sent completely, then close.
  void OnPeerClosedH1(SConn& c) {
    H1Conn& h = *c.h1;
    if (h.state == H1Conn::State::kBusy) {
      h.keep_alive = false;  // the pending response is the last one
    } else {
      h.closing = true;  // a partial request can never complete
    }
    MarkDirty(c);
    // EOF stays readable (level-triggered): stop polling for it until the write is done.
    SetEvents(c, c.woff < c.wbuf.size() ? static_cast<uint32_t>(EPOLLOUT) : 0u);
  }

  // Malformed or refused request: answer `status` and close the connection.
  void FailH1(SConn& c, int status) {
    H1Conn& h = *c.h1;
    ServerResponse r;
    r.status = status;
    r.headers.emplace_back("content-type", "text/plain");
    r.body = std::string(ReasonPhrase(status)) + "\n";
    AppendH1Response(c.wbuf, r, false, false, false);
    h.state = H1Conn::State::kBusy;
    h.closing = true;
    MarkDirty(c);
  }

  /// Writes c.wbuf out. True when all of it went (the buffer is then empty); false when the
  /// socket would block (now waiting for `events_when_blocked`) or failed (closed).
  bool WriteOut(SConn& c, uint32_t events_when_blocked) {
    while (c.woff < c.wbuf.size()) {
      size_t n = 0;
      IoStatus st = c.t->Write(c.wbuf.data() + c.woff, c.wbuf.size() - c.woff, &n);
      if (st == IoStatus::kOk) {
        c.woff += n;
        continue;
      }
      if (st == IoStatus::kWantWrite || st == IoStatus::kWantRead) {
        SetEvents(c, events_when_blocked);
        return false;
      }
      Close(c);
      return false;
    }
    c.wbuf.clear();
    c.woff = 0;
    return true;
  }

  void FlushH1(SConn& c) {
    H1Conn& h = *c.h1;
    for (;;) {
      if (!WriteOut(c, EPOLLOUT)) return;
      if (h.closing) {
        if (!h.st.resp.reset) StartLinger(c);  // a reset was closed at once
        return;
      }
      if (h.state == H1Conn::State::kBusy || h.in.empty()) break;
      ProcessH1(c);  // pipelined requests read while the last response was written
      if (c.wbuf.empty()) break;
    }
    SetEvents(c, h.state == H1Conn::State::kBusy ? 0u : static_cast<uint32_t>(EPOLLIN));
  }

  // ---- connections ----------------------------------------------------------
  // `events` 0 (HTTP/1.1 while a response is pending) keeps the fd registered.
  void SetEvents(SConn& c, uint32_t events) {
    if (c.events == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = c.id;
    epoll_ctl(epfd_, c.events == kUnregistered ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
    c.events = events;
  }

  void Accept() {
    for (;;) {
      sockaddr_storage ss{};
      socklen_t sl = sizeof(ss);
      int fd = accept4(srv_.listen_fd_, reinterpret_cast<sockaddr*>(&ss), &sl,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN (another worker took it) or transient error
      std::string remote = AddressOf(ss);
      if (!srv_.clients_->Admit(s_, remote)) {
        // Over the limit: a clear answer, best effort, and no state kept.
        srv_.counters_->refused_connections++;
        [[maybe_unused]] ssize_t w =
            ::send(fd, kTooManyConnections.data(), kTooManyConnections.size(), MSG_NOSIGNAL);
        ::close(fd);
        continue;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto c = std::make_unique<SConn>();
      c->w = this;
      c->id = srv_.next_connection_id_.fetch_add(1, std::memory_order_relaxed);
      c->fd = fd;
      c->remote = std::move(remote);
      try {
        c->t = tls_ ? MakeTlsTransport(fd, tls_, "") : MakePlainTransport(fd);
      } catch (const std::exception&) {
        srv_.clients_->Release(s_, c->remote);
        ::close(fd);
        continue;
      }
      srv_.counters_->accepted++;
      srv_.counters_->open++;
      SConn& ref = *c;
      conns_.emplace(c->id, std::move(c));
      SetEvents(ref, EPOLLIN);
      if (tls_) {
        Expect(ref, Wait::kHandshake);
        Handshake(ref);
      } else {
        Expect(ref, Wait::kFirst);
        ref.handshake_done = true;  // the first bytes decide: HTTP/2 preface or HTTP/1.1
      }
    }
  }

  // ---- timeouts ---------------------------------------------------------------
  void Expect(SConn& c, Wait wait) {
    std::chrono::milliseconds d{0};
    switch (wait) {
      case Wait::kHandshake:
      case Wait::kHead:
        d = s_.header_timeout;
        break;
      case Wait::kFirst:
        d = s_.header_timeout.count() > 0 ? s_.header_timeout : s_.idle_timeout;
        break;
      case Wait::kBody:
        d = s_.body_timeout;
        break;
      case Wait::kIdle:
        d = s_.idle_timeout;
        break;
      case Wait::kNone:
        break;
    }
    c.wait = wait;
    c.deadline = d.count() > 0 ? Clock::now() + d : Clock::time_point::max();
  }

  // Every few hundred milliseconds: lingering closes, and the timeouts of ServerSettings.
  void Sweep(Clock::time_point now) {
    for (auto& [id, cp] : conns_) {
      SConn& c = *cp;
      if (c.lingering) {
        if (now >= c.linger_deadline) Close(c);
        continue;
      }
      if (c.session != nullptr) {
        SweepH2(c, now);
        continue;
      }
      if (now < c.deadline) continue;
      srv_.counters_->timeouts++;
      bool partial = c.h1 && (c.wait == Wait::kHead || c.wait == Wait::kBody ||
                              (c.wait == Wait::kFirst && !c.h1->in.empty()));
      Expect(c, Wait::kNone);
      if (partial && c.h1->state != H1Conn::State::kBusy) {
        FailH1(c, 408);  // a request begun and not finished in time: say so, then close
      } else {
        Close(c);  // idle, or silent since accept
      }
    }
  }

  void SweepH2(SConn& c, Clock::time_point now) {
    if (c.streams.empty()) {
      if (c.wait != Wait::kIdle) {
        Expect(c, Wait::kIdle);
      } else if (now >= c.deadline) {
        srv_.counters_->timeouts++;
        Expect(c, Wait::kNone);
        nghttp2_session_terminate_session(c.session, NGHTTP2_NO_ERROR);  // GOAWAY, then close
        MarkDirty(c);
      }
      return;
    }
    c.wait = Wait::kNone;
    auto limit = s_.header_timeout + s_.body_timeout;
    if (s_.header_timeout.count() == 0 || s_.body_timeout.count() == 0) return;
    for (auto& [sid, st] : c.streams) {
      if (st->handled || st->ignored || now - st->begun < limit) continue;
      st->ignored = true;  // a request not complete in time
      srv_.counters_->timeouts++;
      nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, sid, NGHTTP2_CANCEL);
      MarkDirty(c);
    }
  }

  void StartSession(SConn& c) {
    c.handshake_done = true;
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(cbs, OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, OnData);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, OnFrameRecv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, OnStreamClose);
    nghttp2_option* opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_stream_reset_rate_limit(opt, s_.stream_reset_burst, s_.stream_reset_rate);
    nghttp2_session_server_new3(&c.session, cbs, &c, opt, mem_.mem());
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s_.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    nghttp2_submit_settings(c.session, NGHTTP2_FLAG_NONE, iv, 2);
    nghttp2_session_set_local_window_size(c.session, NGHTTP2_FLAG_NONE, 0, 16 << 20);
    MarkDirty(c);
  }

  void Handshake(SConn& c) {
    switch (c.t->Handshake()) {
      case IoStatus::kOk:
        SetEvents(c, EPOLLIN);
        Expect(c, Wait::kFirst);
        c.client_cert = c.t->PeerCommonName();
        if (!c.t->h2()) {  // ALPN http/1.1 or none: HTTP/1.1 over TLS
          c.handshake_done = true;
          NewH1(c);
          OnReadable(c);
          return;
        }
        StartSession(c);
        // With TLS 1.3 the client preface often arrives with its Finished message and
        // sits decrypted inside OpenSSL, where epoll cannot see it: read it now.
        OnReadable(c);
        return;
      case IoStatus::kWantRead:
        SetEvents(c, EPOLLIN);
        return;
      case IoStatus::kWantWrite:
        SetEvents(c, EPOLLOUT);
        return;
      default:
        Close(c);
        return;
    }
  }

  void Close(SConn& c) {
    c.dirty = false;
    to_close_.push_back(c.id);
  }

  void MarkDirty(SConn& c) {
    if (c.dirty) return;
    c.dirty = true;
    dirty_.push_back(c.id);
  }

  void Reap() {
    for (uint64_t id : to_close_) {
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      SConn& c = *it->second;
      epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
      if (c.session != nullptr) nghttp2_session_del(c.session);
      for (auto& [sid, st] : c.streams) {
        if (st->x) st->x->gone = true;
      }
      c.streams.clear();
      if (c.h1 && c.h1->st.x) c.h1->st.x->gone = true;
      srv_.clients_->Release(s_, c.remote);
      srv_.counters_->open--;
      conns_.erase(it);  // transport closes the fd
    }
    to_close_.clear();
  }

  // After the session is done: stop writing and drain the peer until it closes, so
  // the kernel does not turn our close() into a RST that eats the last responses.
  void StartLinger(SConn& c) {
    c.lingering = true;
    c.linger_deadline = Clock::now() + std::chrono::seconds(2);
    ::shutdown(c.fd, SHUT_WR);
    SetEvents(c, EPOLLIN);
  }

  void OnReadable(SConn& c) {
    char buf[32 * 1024];
    for (;;) {
      size_t n = 0;
      IoStatus st = c.t->Read(buf, sizeof(buf), &n);
      if (st == IoStatus::kOk) {
        if (c.lingering) continue;
        if (c.session == nullptr) {  // cleartext: preface detection, or HTTP/1.1
          if (!OnCleartextBytes(c, buf, n)) return;
          continue;
        }
        ssize_t rv = nghttp2_session_mem_recv(c.session, reinterpret_cast<uint8_t*>(buf), n);
        MarkDirty(c);
        if (rv < 0) {
          // nghttp2 queued a GOAWAY for protocol errors; flush it, then close.
          Flush(c);
          Close(c);
          return;
        }
        continue;
      }
      if (st == IoStatus::kWantRead) return;
      if (st == IoStatus::kWantWrite) {
        MarkDirty(c);
        return;
      }
      if (st == IoStatus::kClosed && c.h1 && !c.lingering) {
        OnPeerClosedH1(c);
        return;
      }
      Close(c);
      return;
    }
  }

  void Flush(SConn& c) {
    c.dirty = false;
    if (c.lingering) return;
    if (c.session == nullptr) {
      if (c.h1) FlushH1(c);
      return;
    }
    for (;;) {
      if (!WriteOut(c, EPOLLIN | EPOLLOUT)) return;
      while (c.wbuf.size() < 64 * 1024) {
        const uint8_t* data = nullptr;
        ssize_t n = nghttp2_session_mem_send(c.session, &data);
        if (n < 0) {
          Close(c);
          return;
        }
        if (n == 0) break;
        c.wbuf.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
      if (c.wbuf.empty()) break;
    }
    SetEvents(c, EPOLLIN);
    if (!nghttp2_session_want_read(c.session) && !nghttp2_session_want_write(c.session)) {
      StartLinger(c);
    }
  }

  void RunTimers(Clock::time_point now) {
    while (!timers_.empty() && timers_.top().due <= now) {
      Timer t = timers_.top();
      timers_.pop();
      auto it = conns_.find(t.conn_id);
      if (it == conns_.end()) continue;
      SConn& c = *it->second;
      if (c.lingering) continue;
      if (c.session == nullptr) {
        if (c.h1 && t.stream_id == kHttp1Timer) RespondH1(c);
        continue;
      }
      auto s = c.streams.find(t.stream_id);
      if (s == c.streams.end()) continue;
      Respond(c, t.stream_id, *s->second);
    }
  }

  void Run() {
    std::vector<epoll_event> events(128);
    while (!stop_) {
      int timeout_ms = 50;
      auto now = Clock::now();
      if (!timers_.empty()) {
        auto d = std::chrono::duration_cast<std::chrono::milliseconds>(timers_.top().due - now);
        timeout_ms = static_cast<int>(std::clamp<int64_t>(d.count() + 1, 0, 50));
      }
      int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), timeout_ms);
      for (int i = 0; i < n; ++i) {
        uint64_t tag = events[i].data.u64;
        if (tag == kWakeTag) {
          uint64_t v;
          [[maybe_unused]] ssize_t r = ::read(evfd_, &v, sizeof(v));
          DrainMail();
          continue;
        }
        if (tag == kListenTag) {
          Accept();
          continue;
        }
        auto it = conns_.find(tag);
        if (it == conns_.end()) continue;
        SConn& c = *it->second;
        if (!c.handshake_done) {
          Handshake(c);
          continue;
        }
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) OnReadable(c);
        if (events[i].events & EPOLLOUT) MarkDirty(c);
      }
      now = Clock::now();
      RunTimers(now);
      if (now >= next_sweep_) {
        Sweep(now);
        next_sweep_ = now + std::chrono::milliseconds(100);
      }
      // Flushing can mark more connections dirty (HTTP/1.1 pipelining): until none is.
      while (!dirty_.empty()) {
        flushing_.swap(dirty_);
        for (uint64_t id : flushing_) {
          auto it = conns_.find(id);
          if (it != conns_.end() && it->second->dirty) Flush(*it->second);
        }
        flushing_.clear();
      }
      Reap();
    }
    for (auto& [id, c] : conns_) Close(*c);
    Reap();
  }

  Server& srv_;
  const ServerSettings& s_;
  std::shared_ptr<TlsContext> tls_;
  int epfd_ = -1;
  int evfd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  SessionMemory mem_;  // for every session of this worker; outlives them (declared first)
  static constexpr size_t kMaxSpareStreams = 4096;
  std::vector<std::unique_ptr<SStream>> spare_;  // recycled streams (see SStream)
  std::unordered_map<uint64_t, std::unique_ptr<SConn>> conns_;
  std::vector<uint64_t> to_close_;
  std::vector<uint64_t> dirty_, flushing_;  // connections with something to write
  Clock::time_point next_sweep_{};
  std::shared_ptr<Mailbox> mailbox_;
  std::vector<Mail> mail_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
};

Server::Server(ServerSettings settings, Handler handler)
    : settings_(std::move(settings)),
      handler_(std::move(handler)),
      clients_(std::make_unique<Clients>()),
      counters_(std::make_unique<Counters>()) {}

Server::Server(ServerSettings settings, AsyncHandler handler)
    : settings_(std::move(settings)),
      async_handler_(std::move(handler)),
      clients_(std::make_unique<Clients>()),
      counters_(std::make_unique<Counters>()) {}

Server::~Server() { Stop(); }

void Server::Start() {
  if (listen_fd_ >= 0) return;
  auto hp = ParseHostPort(settings_.listen);
  if (!hp)
    throw std::runtime_error("bad listen address '" + settings_.listen + "' (want host:port)");
  std::shared_ptr<TlsContext> tls;
  if (!settings_.tls_cert_file.empty() || !settings_.tls_key_file.empty()) {
    tls = TlsContext::Server(settings_.tls_cert_file, settings_.tls_key_file, settings_.tls_http1,
                             settings_.tls_client_ca_file);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  std::string port = std::to_string(hp->port);
  int rc = getaddrinfo(hp->host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    throw std::runtime_error("resolve '" + hp->host + "': " + gai_strerror(rc));
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
    std::string err = std::strerror(errno);
    freeaddrinfo(res);
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("listen on " + settings_.listen + ": " + err);
  }
  freeaddrinfo(res);
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                         : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  listen_fd_ = fd;
  for (int i = 0; i < std::max(1, settings_.threads); ++i) {
    workers_.push_back(std::make_unique<Worker>(*this, tls));
  }
  for (auto& w : workers_) w->Start();
}

void Server::Stop() {
  for (auto& w : workers_) w->Stop();
  workers_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

ServerStats Server::Stats() const {
  ServerStats s;
  s.connections_accepted = counters_->accepted;
  s.streams = counters_->streams;
  s.goaways_sent = counters_->goaways;
  s.refused_after_goaway = counters_->refused;
  s.max_concurrent_streams_seen = counters_->max_concurrent;
  s.http1_requests = counters_->http1;
  s.connections_open = counters_->open;
  s.connections_refused = counters_->refused_connections;
  s.timeouts = counters_->timeouts;
  return s;
}

}  // namespace fanout::adapters::http2
