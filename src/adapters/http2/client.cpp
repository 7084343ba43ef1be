#include "adapters/http2/client.hpp"

#include "platform/thread/thread.hpp"

#include <errno.h>
#include <fcntl.h>
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
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "adapters/http2/transport.hpp"

namespace fanout::adapters::http2 {

std::string_view TransportErrorName(TransportError e) {
  switch (e) {
    case TransportError::kNone:
      return "none";
    case TransportError::kConnect:
      return "connect";
    case TransportError::kRefused:
      return "refused";
    case TransportError::kReset:
      return "reset";
    case TransportError::kConnectionLost:
      return "connection_lost";
    case TransportError::kTimeout:
      return "timeout";
    case TransportError::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

namespace {

using Clock = std::chrono::steady_clock;

// Completion target of a batch: one shared object instead of a std::function per call.
struct BatchSink {
  std::function<void(size_t, Response&&)> done;
};

struct Call {
  Request req;
  Callback cb;                      // single requests
  std::shared_ptr<BatchSink> sink;  // batch requests: sink->done(index, ...)
  size_t index = 0;
  Clock::time_point deadline;
  size_t body_off = 0;
  Response resp;
  bool complete = false;  // END_STREAM seen on the response
  bool done = false;      // callback already invoked (e.g. timed out while the stream lives)
};

void Finish(Call& c, Response&& r) {
  if (c.done) return;
  c.done = true;
  if (c.sink) {
    std::shared_ptr<BatchSink> sink = std::move(c.sink);
    sink->done(c.index, std::move(r));
    return;
  }
  Callback cb = std::move(c.cb);
  cb(std::move(r));
}

void Fail(Call& c, TransportError e, std::string msg) {
  Response r;
  r.error = e;
  r.error_message = std::move(msg);
  Finish(c, std::move(r));
}

}  // namespace

struct Client::Counters {
  std::atomic<uint64_t> connects{0}, connect_failures{0}, goaways{0}, requests{0}, refused{0},
      timeouts{0}, connection_lost{0};
};

class Client::Loop {
 public:
  Loop(const ClientSettings& s, std::shared_ptr<TlsContext> tls, int nconns,
       Client::Counters& counters)
      : s_(s), tls_(std::move(tls)), counters_(counters) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    evfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epfd_ < 0 || evfd_ < 0) throw std::runtime_error("epoll/eventfd failed");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev);
    for (int i = 0; i < nconns; ++i) conns_.push_back(std::make_unique<Conn>(this));
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "h2-client");
      if (s_.thread_nice != 0) platform::SetCurrentThreadNice(s_.thread_nice);
      Run();
    });
  }
  ~Loop() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    Wake();
    thread_.join();
    ::close(evfd_);
    ::close(epfd_);
  }

  void Enqueue(std::vector<std::unique_ptr<Call>> calls) {
    {
      std::lock_guard lk(mu_);
      if (!stop_) {
        for (auto& c : calls) incoming_.push_back(std::move(c));
        calls.clear();
      }
    }
    for (auto& c : calls) Fail(*c, TransportError::kShutdown, "client is shutting down");
    Wake();
  }

 private:
  enum class State { kIdle, kConnecting, kHandshake, kReady, kClosing };

  struct Conn {
    explicit Conn(Loop* l) : loop(l) {}
    Loop* loop;
    State state = State::kIdle;
    std::unique_ptr<Transport> t;
    int fd = -1;
    nghttp2_session* session = nullptr;
    bool settings_received = false;
    bool goaway = false;
    std::unordered_map<int32_t, std::unique_ptr<Call>> streams;
    std::string wbuf;
    size_t woff = 0;
    uint32_t events = 0;
    Clock::time_point deadline;         // connect/handshake/settings deadline
    Clock::time_point next_connect_at;  // backoff
    std::chrono::milliseconds backoff{0};
    std::string last_error;
    bool dirty = false;
    Clock::time_point last_recv;     // last bytes from the peer
    Clock::time_point ping_sent_at;  // valid while ping_outstanding
    bool ping_outstanding = false;
  };

  void Wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t r = ::write(evfd_, &one, sizeof(one));
  }

  // ---- nghttp2 callbacks -------------------------------------------------
  static int OnHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto* call =
        static_cast<Call*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
    if (call == nullptr) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      int st = 0;
      for (char ch : v) st = st * 10 + (ch - '0');
      call->resp.status = st;
    } else if (!n.empty() && n[0] != ':') {
      auto* conn = static_cast<Conn*>(user);
      const auto& keep = conn->loop->s_.keep_response_headers;
      if (keep.empty() || std::find(keep.begin(), keep.end(), n) != keep.end()) {
        call->resp.headers.emplace_back(std::string(n), std::string(v));
      }
    }
    return 0;
  }
  static int OnData(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data,
                    size_t len, void* user) {
    auto* conn = static_cast<Conn*>(user);
    auto* call = static_cast<Call*>(nghttp2_session_get_stream_user_data(session, stream_id));
    if (call == nullptr) return 0;
    size_t room = conn->loop->s_.max_response_body -
                  std::min(conn->loop->s_.max_response_body, call->resp.body.size());
    call->resp.body.append(reinterpret_cast<const char*>(data), std::min(room, len));
    return 0;
  }
  static int OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto* conn = static_cast<Conn*>(user);
    switch (frame->hd.type) {
      case NGHTTP2_SETTINGS:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) conn->settings_received = true;
        break;
      case NGHTTP2_GOAWAY:
        conn->goaway = true;
        conn->loop->counters_.goaways++;
        break;
      case NGHTTP2_HEADERS:
      case NGHTTP2_DATA:
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
          auto* call = static_cast<Call*>(
              nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
          if (call != nullptr && call->resp.status >= 200) call->complete = true;
        }
        break;
      default:
        break;
    }
    return 0;
  }
  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
    auto* conn = static_cast<Conn*>(user);
    auto it = conn->streams.find(stream_id);
    if (it == conn->streams.end()) return 0;
    std::unique_ptr<Call> call = std::move(it->second);
    conn->streams.erase(it);
    if (call->complete) {
      Finish(*call, std::move(call->resp));
    } else if (error_code == NGHTTP2_REFUSED_STREAM) {
      conn->loop->counters_.refused++;
      Fail(*call, TransportError::kRefused,
           "stream refused by peer (REFUSED_STREAM or above GOAWAY last-stream-id); not processed");
    } else {
      Fail(*call, TransportError::kReset,
           std::string("stream closed before a response: ") + nghttp2_http2_strerror(error_code));
    }
    return 0;
  }
  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source* source, void*) {
    auto* call = static_cast<Call*>(source->ptr);
    const std::string& body = call->req.shared_body ? *call->req.shared_body : call->req.body;
    size_t n = std::min(length, body.size() - call->body_off);
    std::memcpy(buf, body.data() + call->body_off, n);
    call->body_off += n;
    if (call->body_off == body.size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  // ---- connection management ----------------------------------------------
  void SetEvents(Conn& c, uint32_t events) {
    if (c.events == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &c;
    epoll_ctl(epfd_, c.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
    c.events = events;
  }

  void StartConnect(Conn& c, Clock::time_point now) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string port = std::to_string(s_.endpoint.port);
    // Blocking resolution: fine for IP literals and cached names (see README).
    int rc = getaddrinfo(s_.endpoint.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr) {
      ConnectFailed(c, std::string("resolve ") + s_.endpoint.host + ": " + gai_strerror(rc), now);
      return;
    }
    int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      freeaddrinfo(res);
      ConnectFailed(c, std::string("socket: ") + std::strerror(errno), now);
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int r = ::connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (r != 0 && errno != EINPROGRESS) {
      std::string err = std::string("connect: ") + std::strerror(errno);
      ::close(fd);
      ConnectFailed(c, err, now);
      return;
    }
    c.fd = fd;
    c.state = State::kConnecting;
    c.deadline = now + s_.connect_timeout;
    c.settings_received = false;
    c.goaway = false;
    c.wbuf.clear();
    c.woff = 0;
    c.events = 0;
    SetEvents(c, EPOLLOUT);
  }

  void ConnectFailed(Conn& c, std::string err, Clock::time_point now) {
    counters_.connect_failures++;
    c.last_error = std::move(err);
    c.backoff = std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(2000),
        c.backoff.count() == 0 ? std::chrono::milliseconds(50) : c.backoff * 2);
    c.next_connect_at = now + c.backoff;
    last_connect_error_ = c.last_error;
  }

  // Tears the connection down; streams still open complete as connection lost.
  void Close(Conn& c, std::string why, bool connect_failure) {  // by value: may alias c.t
    if (c.fd >= 0) {
      epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
    }
    auto streams = std::move(c.streams);
    c.streams.clear();
    if (c.session != nullptr) {
      nghttp2_session_del(c.session);
      c.session = nullptr;
    }
    if (c.t) {
      c.t.reset();  // closes fd
    } else if (c.fd >= 0) {
      ::close(c.fd);
    }
    c.fd = -1;
    c.events = 0;
    c.state = State::kIdle;
    c.wbuf.clear();
    c.woff = 0;
    auto now = Clock::now();
    if (connect_failure) {
      ConnectFailed(c, why, now);
    } else {
      c.next_connect_at = now;
    }
    for (auto& [id, call] : streams) {
      if (!call->done) counters_.connection_lost++;
      Fail(*call, TransportError::kConnectionLost, "connection closed before a response: " + why);
    }
  }

  bool CreateSession(Conn& c) {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, OnData);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, OnFrameRecv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, OnStreamClose);
    nghttp2_option* opt;
    nghttp2_option_new(&opt);
    // Until the peer's SETTINGS arrive we dispatch nothing anyway.
    nghttp2_option_set_peer_max_concurrent_streams(opt, 1);
    int rv = nghttp2_session_client_new2(&c.session, cbs, &c, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) return false;
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                   {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
                                   {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    nghttp2_submit_settings(c.session, NGHTTP2_FLAG_NONE, iv, 3);
    nghttp2_session_set_local_window_size(c.session, NGHTTP2_FLAG_NONE, 0, 16 << 20);
    return true;
  }

  void OnConnectable(Conn& c) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      Close(c, std::string("connect: ") + std::strerror(err), true);
      return;
    }
    c.t =
        s_.endpoint.tls ? MakeTlsTransport(c.fd, tls_, s_.endpoint.host) : MakePlainTransport(c.fd);
    c.state = State::kHandshake;
    DoHandshake(c);
  }

  void DoHandshake(Conn& c) {
    switch (c.t->Handshake()) {
      case IoStatus::kOk:
        if (!CreateSession(c)) {
          Close(c, "nghttp2_session_client_new failed", true);
          return;
        }
        c.state = State::kReady;  // usable once the peer's SETTINGS arrive
        c.last_recv = Clock::now();
        c.ping_outstanding = false;
        SetEvents(c, EPOLLIN);
        c.dirty = true;
        // TLS may already hold decrypted bytes that epoll will never announce.
        if (s_.endpoint.tls) OnReadable(c);
        return;
      case IoStatus::kWantRead:
        SetEvents(c, EPOLLIN);
        return;
      case IoStatus::kWantWrite:
        SetEvents(c, EPOLLOUT);
        return;
      case IoStatus::kClosed:
        Close(c, "TLS handshake: connection closed", true);
        return;
      case IoStatus::kError:
        Close(c, c.t->LastError(), true);
        return;
    }
  }

  void OnReadable(Conn& c) {
    char buf[32 * 1024];
    for (;;) {
      size_t n = 0;
      IoStatus st = c.t->Read(buf, sizeof(buf), &n);
      if (st == IoStatus::kOk) {
        c.last_recv = Clock::now();
        bool had_settings = c.settings_received;
        ssize_t rv = nghttp2_session_mem_recv(c.session, reinterpret_cast<uint8_t*>(buf), n);
        if (rv < 0) {
          Close(c, std::string("HTTP/2 protocol error: ") + nghttp2_strerror(static_cast<int>(rv)),
                false);
          return;
        }
        if (!had_settings && c.settings_received) {
          counters_.connects++;
          c.backoff = std::chrono::milliseconds(0);
        }
        c.dirty = true;
        continue;
      }
      if (st == IoStatus::kWantRead) break;
      if (st == IoStatus::kWantWrite) {
        c.dirty = true;
        break;
      }
      Close(c, st == IoStatus::kClosed ? "peer closed the connection" : c.t->LastError(),
            !c.settings_received);
      return;
    }
  }

  // Writes whatever nghttp2 has queued; closes a finished (drained) session.
  void Flush(Conn& c) {
    c.dirty = false;
    if (c.state != State::kReady && c.state != State::kClosing) return;
    for (;;) {
      while (c.woff < c.wbuf.size()) {
        size_t n = 0;
        IoStatus st = c.t->Write(c.wbuf.data() + c.woff, c.wbuf.size() - c.woff, &n);
        if (st == IoStatus::kOk) {
          c.woff += n;
          continue;
        }
        if (st == IoStatus::kWantWrite || st == IoStatus::kWantRead) {
          SetEvents(c, EPOLLIN | EPOLLOUT);
          return;
        }
        Close(c, st == IoStatus::kClosed ? "peer closed the connection" : c.t->LastError(), false);
        return;
      }
      c.wbuf.clear();
      c.woff = 0;
      while (c.wbuf.size() < 64 * 1024) {
        const uint8_t* data = nullptr;
        ssize_t n = nghttp2_session_mem_send(c.session, &data);
        if (n < 0) {
          Close(c,
                std::string("nghttp2_session_mem_send: ") + nghttp2_strerror(static_cast<int>(n)),
                false);
          return;
        }
        if (n == 0) break;
        c.wbuf.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
      if (c.wbuf.empty()) break;
    }
    SetEvents(c, EPOLLIN);
    if (!nghttp2_session_want_read(c.session) && !nghttp2_session_want_write(c.session)) {
      Close(c, c.goaway ? "GOAWAY" : "session finished", false);
    }
  }

  uint32_t StreamLimit(const Conn& c) const {
    uint32_t peer =
        nghttp2_session_get_remote_settings(c.session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    return std::min(peer, s_.max_streams_per_connection);
  }

  bool Usable(const Conn& c) const {
    return c.state == State::kReady && c.settings_received && !c.goaway;
  }

  bool SubmitOn(Conn& c, std::unique_ptr<Call>& call) {
    nva_.clear();
    auto add = [&](std::string_view n, std::string_view v, uint8_t flags) {
      nva_.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                      flags});
    };
    add(":method", call->req.method, NGHTTP2_NV_FLAG_NONE);
    add(":scheme", s_.endpoint.tls ? "https" : "http", NGHTTP2_NV_FLAG_NONE);
    add(":authority", authority_, NGHTTP2_NV_FLAG_NONE);
    add(":path", call->req.path, NGHTTP2_NV_FLAG_NONE);
    auto flags_for = [&](const std::string& name) -> uint8_t {
      for (const auto& n : s_.no_index_headers) {
        if (n == name) return NGHTTP2_NV_FLAG_NO_INDEX;
      }
      return NGHTTP2_NV_FLAG_NONE;
    };
    if (call->req.common_headers) {
      for (const auto& h : *call->req.common_headers) add(h.first, h.second, flags_for(h.first));
    }
    for (const auto& h : call->req.headers) add(h.first, h.second, flags_for(h.first));
    auto& nva = nva_;
    nghttp2_data_provider prd{};
    prd.source.ptr = call.get();
    prd.read_callback = ReadBody;
    bool has_body =
        call->req.shared_body ? !call->req.shared_body->empty() : !call->req.body.empty();
    int32_t id = nghttp2_submit_request(c.session, nullptr, nva.data(), nva.size(),
                                        has_body ? &prd : nullptr, call.get());
    if (id < 0) {
      // Stream ids exhausted or session going away: drain this one, retry elsewhere.
      c.goaway = true;
      return false;
    }
    c.streams.emplace(id, std::move(call));
    c.dirty = true;
    if (nghttp2_session_get_next_stream_id(c.session) > (1u << 30)) c.goaway = true;
    return true;
  }

  void Dispatch(Clock::time_point now) {
    if (pending_.empty()) return;
    // Open every idle connection that is not backing off.
    for (auto& c : conns_) {
      if (c->state == State::kIdle && now >= c->next_connect_at) StartConnect(*c, now);
    }
    while (!pending_.empty()) {
      Conn* best = nullptr;
      size_t best_load = SIZE_MAX;
      for (auto& c : conns_) {
        if (!Usable(*c)) continue;
        size_t load = c->streams.size();
        if (load < StreamLimit(*c) && load < best_load) {
          best = c.get();
          best_load = load;
        }
      }
      if (best == nullptr) break;
      if (!SubmitOn(*best, pending_.front())) continue;
      pending_.pop_front();
    }
    if (pending_.empty()) return;
    // Nothing can take the rest soon: every connection is down and backing off.
    bool any_alive = std::any_of(conns_.begin(), conns_.end(),
                                 [](const auto& c) { return c->state != State::kIdle; });
    if (!any_alive) {
      auto calls = std::move(pending_);
      pending_.clear();
      for (auto& call : calls) {
        Fail(*call, TransportError::kConnect,
             "cannot connect to " + authority_ + ": " + last_connect_error_);
      }
    }
  }

  void CheckTimeouts(Clock::time_point now) {
    while (!pending_.empty() && pending_.front()->deadline <= now) {
      counters_.timeouts++;
      Fail(*pending_.front(), TransportError::kTimeout, "request timed out waiting for a stream");
      pending_.pop_front();
    }
    for (auto& c : conns_) {
      if ((c->state == State::kConnecting || c->state == State::kHandshake ||
           (c->state == State::kReady && !c->settings_received)) &&
          now >= c->deadline) {
        Close(*c, "connect timeout", true);
        continue;
      }
      if (c->state != State::kReady || !c->settings_received) continue;
      if (c->ping_outstanding) {
        if (c->last_recv >= c->ping_sent_at) {
          c->ping_outstanding = false;
        } else if (now - c->ping_sent_at >= s_.ping_timeout) {
          Close(*c,
                "peer unresponsive: nothing received " + std::to_string(s_.ping_timeout.count()) +
                    " ms after a PING",
                false);
          continue;
        }
      }
      bool timed_out = false;
      for (auto& [id, call] : c->streams) {
        if (!call->done && call->deadline <= now) {
          counters_.timeouts++;
          timed_out = true;
          Fail(*call, TransportError::kTimeout, "request timed out");
          nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
          c->dirty = true;
        }
      }
      bool idle_too_long =
          s_.keepalive_interval.count() > 0 && now - c->last_recv >= s_.keepalive_interval;
      if ((timed_out || idle_too_long) && !c->ping_outstanding) {
        nghttp2_submit_ping(c->session, NGHTTP2_FLAG_NONE, nullptr);
        c->ping_outstanding = true;
        c->ping_sent_at = now;
        c->dirty = true;
      }
    }
  }

  void Run() {
    authority_ = s_.endpoint.Authority();
    std::vector<epoll_event> events(64);
    auto next_tick = Clock::now();
    bool stopping = false;
    while (!stopping) {
      int timeout_ms = 20;
      int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), timeout_ms);
      for (int i = 0; i < n; ++i) {
        auto* c = static_cast<Conn*>(events[i].data.ptr);
        if (c == nullptr) {
          uint64_t v;
          [[maybe_unused]] ssize_t r = ::read(evfd_, &v, sizeof(v));
          std::lock_guard lk(mu_);
          for (auto& call : incoming_) pending_.push_back(std::move(call));
          incoming_.clear();
          stopping = stop_;
          continue;
        }
        uint32_t ev = events[i].events;
        switch (c->state) {
          case State::kConnecting:
            OnConnectable(*c);
            break;
          case State::kHandshake:
            DoHandshake(*c);
            break;
          case State::kReady:
          case State::kClosing:
            if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) OnReadable(*c);
            if (c->state != State::kIdle && (ev & EPOLLOUT)) c->dirty = true;
            break;
          case State::kIdle:
            break;
        }
      }
      auto now = Clock::now();
      if (now >= next_tick) {
        CheckTimeouts(now);
        next_tick = now + std::chrono::milliseconds(20);
      }
      Dispatch(now);
      for (auto& c : conns_) {
        if (c->dirty) Flush(*c);
      }
      // A closed connection may be reopened and used in the same iteration.
      if (!pending_.empty()) {
        Dispatch(now);
        for (auto& c : conns_) {
          if (c->dirty) Flush(*c);
        }
      }
    }
    // Shutdown: everything outstanding fails.
    for (auto& c : conns_) Close(*c, "client shutdown", false);
    std::deque<std::unique_ptr<Call>> rest = std::move(pending_);
    {
      std::lock_guard lk(mu_);
      for (auto& call : incoming_) rest.push_back(std::move(call));
      incoming_.clear();
    }
    for (auto& call : rest) Fail(*call, TransportError::kShutdown, "client is shutting down");
  }

  const ClientSettings& s_;
  std::shared_ptr<TlsContext> tls_;
  Client::Counters& counters_;
  int epfd_ = -1;
  int evfd_ = -1;
  std::mutex mu_;
  bool stop_ = false;
  std::vector<std::unique_ptr<Call>> incoming_;
  std::deque<std::unique_ptr<Call>> pending_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::string authority_;
  std::string last_connect_error_;
  std::vector<nghttp2_nv> nva_;  // scratch for SubmitOn
  std::thread thread_;
};

Client::Client(ClientSettings settings)
    : settings_(std::move(settings)), counters_(std::make_unique<Counters>()) {
  settings_.connections = std::max(1, settings_.connections);
  settings_.io_threads = std::clamp(settings_.io_threads, 1, settings_.connections);
  settings_.max_streams_per_connection =
      std::max<uint32_t>(1, settings_.max_streams_per_connection);
  std::shared_ptr<TlsContext> tls;
  if (settings_.endpoint.tls) tls = TlsContext::Client(settings_.ca_file, settings_.verify_peer);
  for (int i = 0; i < settings_.io_threads; ++i) {
    int n = settings_.connections / settings_.io_threads +
            (i < settings_.connections % settings_.io_threads ? 1 : 0);
    loops_.push_back(std::make_unique<Loop>(settings_, tls, n, *counters_));
  }
}

Client::~Client() { loops_.clear(); }

void Client::Submit(Request request, Callback done) {
  auto call = std::make_unique<Call>();
  call->req = std::move(request);
  call->cb = std::move(done);
  call->deadline = Clock::now() + settings_.request_timeout;
  counters_->requests++;
  std::vector<std::unique_ptr<Call>> v;
  v.push_back(std::move(call));
  loops_[rr_++ % loops_.size()]->Enqueue(std::move(v));
}

void Client::SubmitBatch(std::vector<Request> requests,
                         std::function<void(size_t, Response&&)> done) {
  if (requests.empty()) return;
  auto sink = std::make_shared<BatchSink>();
  sink->done = std::move(done);
  auto deadline = Clock::now() + settings_.request_timeout;
  counters_->requests += requests.size();
  size_t nloops = loops_.size();
  size_t chunk = (requests.size() + nloops - 1) / nloops;
  size_t first_loop = rr_++;
  for (size_t l = 0, i = 0; l < nloops && i < requests.size(); ++l) {
    std::vector<std::unique_ptr<Call>> calls;
    for (size_t end = std::min(requests.size(), i + chunk); i < end; ++i) {
      auto call = std::make_unique<Call>();
      call->req = std::move(requests[i]);
      call->sink = sink;
      call->index = i;
      call->deadline = deadline;
      calls.push_back(std::move(call));
    }
    loops_[(first_loop + l) % nloops]->Enqueue(std::move(calls));
  }
}

std::vector<Response> Client::Execute(std::vector<Request> requests) {
  return ExecuteMapped<Response>(std::move(requests), [](Response&& r) { return std::move(r); });
}

ClientStats Client::Stats() const {
  ClientStats s;
  s.connects = counters_->connects;
  s.connect_failures = counters_->connect_failures;
  s.goaways_received = counters_->goaways;
  s.requests = counters_->requests;
  s.refused = counters_->refused;
  s.timeouts = counters_->timeouts;
  s.connection_lost = counters_->connection_lost;
  return s;
}

}  // namespace fanout::adapters::http2
