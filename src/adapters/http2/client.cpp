#include "adapters/http2/client.hpp"

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

#include "adapters/http2/session_memory.hpp"
#include "adapters/http2/transport.hpp"
#include "platform/thread/thread.hpp"

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

struct Batch;

// One request in flight. Calls live in their batch's array (one allocation per batch,
// not one per request); the I/O thread links them into a connection's open-stream list
// (intrusive: no node allocation per stream).
struct Call {
  Batch* batch = nullptr;
  const Request* req = nullptr;  // in batch->requests
  size_t index = 0;
  Clock::time_point deadline;
  size_t body_off = 0;
  Response resp;
  bool complete = false;  // END_STREAM seen on the response
  bool done = false;      // callback already invoked (e.g. timed out while the stream lives)
  int32_t stream_id = 0;
  void* conn = nullptr;  // the Conn whose open-stream list holds this call, or null
  Call* prev = nullptr;
  Call* next = nullptr;
};

// The requests of one SubmitBatch/Execute call and their calls. `live` counts calls
// still referenced by an I/O thread; the last release frees the batch (asynchronous
// submissions) or wakes the blocked caller, which frees it on its own thread (so the
// strings the caller allocated are freed where they were allocated).
struct Batch {
  std::vector<Request> owned;  // asynchronous submissions own their requests
  std::span<const Request> requests;
  std::vector<Call> calls;
  std::function<void(size_t, Response&&)> done;
  std::atomic<size_t> live{0};
  bool caller_waits = false;
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
};

// Callbacks run inside nghttp2's C callbacks: an exception must not unwind through them
// (noexcept: std::terminate instead of undefined behaviour).
void Finish(Call& c, Response&& r) noexcept {
  if (c.done) return;
  c.done = true;
  c.batch->done(c.index, std::move(r));
}

// The I/O thread is done with `c` (finished and no longer in any queue or stream list).
// `c` may be freed by this call.
void Release(Call& c) {
  Batch* b = c.batch;
  if (b->live.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (!b->caller_waits) {
    delete b;
    return;
  }
  std::lock_guard lk(b->mu);
  b->released = true;
  b->cv.notify_all();
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
      BlockSigpipe();
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

  // noexcept: a batch half handed over cannot be unwound (bad_alloc terminates).
  void Enqueue(Call* first, size_t n) noexcept {
    bool accepted = false;
    {
      std::lock_guard lk(mu_);
      if (!stop_) {
        for (size_t i = 0; i < n; ++i) incoming_.push_back(first + i);
        accepted = true;
      }
    }
    if (!accepted) {
      for (size_t i = 0; i < n; ++i)
        FailAndRelease(first[i], TransportError::kShutdown, "client is shutting down");
      return;
    }
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
    Call* streams = nullptr;  // open streams (intrusive list)
    size_t nstreams = 0;
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

  static void Link(Conn& c, Call* call) {
    call->conn = &c;
    call->prev = nullptr;
    call->next = c.streams;
    if (c.streams != nullptr) c.streams->prev = call;
    c.streams = call;
    ++c.nstreams;
  }
  static void Unlink(Conn& c, Call* call) {
    if (call->prev != nullptr)
      call->prev->next = call->next;
    else
      c.streams = call->next;
    if (call->next != nullptr) call->next->prev = call->prev;
    call->conn = nullptr;
    call->prev = call->next = nullptr;
    --c.nstreams;
  }
  static void FailAndRelease(Call& call, TransportError e, std::string msg) {
    Fail(call, e, std::move(msg));
    Release(call);
  }

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
  static int OnStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                           void* user) {
    auto* conn = static_cast<Conn*>(user);
    auto* call = static_cast<Call*>(nghttp2_session_get_stream_user_data(session, stream_id));
    if (call == nullptr || call->conn != conn) return 0;
    Unlink(*conn, call);
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
    Release(*call);
    return 0;
  }
  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source* source, void*) {
    auto* call = static_cast<Call*>(source->ptr);
    const std::string& body = call->req->shared_body ? *call->req->shared_body : call->req->body;
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
    // Detach the open streams first: nothing below may reach them through the session.
    std::vector<Call*> streams;
    streams.reserve(c.nstreams);
    while (c.streams != nullptr) {
      Call* call = c.streams;
      Unlink(c, call);
      streams.push_back(call);
    }
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
    for (Call* call : streams) {
      if (!call->done) counters_.connection_lost++;
      FailAndRelease(*call, TransportError::kConnectionLost,
                     "connection closed before a response: " + why);
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
    int rv = nghttp2_session_client_new3(&c.session, cbs, &c, opt, mem_.mem());
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
    } else if (c.goaway && c.nstreams == 0) {
      // Retired by us (stream ids near 2^30, or a submit failed) or by the peer's GOAWAY,
      // and drained: nghttp2 keeps wanting to read until a GOAWAY was exchanged, so close
      // it here; the pool reopens it on demand.
      Close(c, "connection retired after its last stream", false);
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

  bool SubmitOn(Conn& c, Call* call) {
    nva_.clear();
    // NO_COPY: every name and value outlives nghttp2's use of it (the request is only
    // released after its stream closed or the session was deleted; the rest are
    // literals and members), so nghttp2 need not copy them per request.
    auto add = [&](std::string_view n, std::string_view v, uint8_t flags) {
      nva_.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                      static_cast<uint8_t>(flags | NGHTTP2_NV_FLAG_NO_COPY_NAME |
                                           NGHTTP2_NV_FLAG_NO_COPY_VALUE)});
    };
    const Request& req = *call->req;
    add(":method", req.method, NGHTTP2_NV_FLAG_NONE);
    add(":scheme", s_.endpoint.tls ? "https" : "http", NGHTTP2_NV_FLAG_NONE);
    add(":authority", authority_, NGHTTP2_NV_FLAG_NONE);
    add(":path", req.path, NGHTTP2_NV_FLAG_NONE);
    auto flags_for = [&](const std::string& name) -> uint8_t {
      for (const auto& n : s_.no_index_headers) {
        if (n == name) return NGHTTP2_NV_FLAG_NO_INDEX;
      }
      return NGHTTP2_NV_FLAG_NONE;
    };
    if (req.common_headers) {
      for (const auto& h : *req.common_headers) add(h.first, h.second, flags_for(h.first));
    }
    for (const auto& h : req.headers) add(h.first, h.second, flags_for(h.first));
    auto& nva = nva_;
    nghttp2_data_provider prd{};
    prd.source.ptr = call;
    prd.read_callback = ReadBody;
    bool has_body = req.shared_body ? !req.shared_body->empty() : !req.body.empty();
    int32_t id = nghttp2_submit_request(c.session, nullptr, nva.data(), nva.size(),
                                        has_body ? &prd : nullptr, call);
    if (id < 0) {
      // Stream ids exhausted or session going away: drain this one, retry elsewhere.
      c.goaway = true;
      return false;
    }
    call->stream_id = id;
    Link(c, call);
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
    // Stream limits read once per round, not once per request and connection.
    candidates_.clear();
    for (auto& c : conns_) {
      if (Usable(*c)) candidates_.push_back({c.get(), StreamLimit(*c)});
    }
    while (!pending_.empty()) {
      Candidate* best = nullptr;
      for (auto& cand : candidates_) {
        size_t load = cand.conn->nstreams;
        if (!cand.conn->goaway && load < cand.limit &&
            (best == nullptr || load < best->conn->nstreams)) {
          best = &cand;
        }
      }
      if (best == nullptr) break;
      if (!SubmitOn(*best->conn, pending_.front())) continue;  // sets goaway: skipped next
      pending_.pop_front();
    }
    if (pending_.empty()) return;
    // Nothing can take the rest soon: every connection is down and backing off.
    bool any_alive = std::any_of(conns_.begin(), conns_.end(),
                                 [](const auto& c) { return c->state != State::kIdle; });
    if (!any_alive) {
      auto calls = std::move(pending_);
      pending_.clear();
      for (Call* call : calls) {
        FailAndRelease(*call, TransportError::kConnect,
                       "cannot connect to " + authority_ + ": " + last_connect_error_);
      }
    }
  }

  void CheckTimeouts(Clock::time_point now) {
    while (!pending_.empty() && pending_.front()->deadline <= now) {
      counters_.timeouts++;
      Call* call = pending_.front();
      pending_.pop_front();
      FailAndRelease(*call, TransportError::kTimeout, "request timed out waiting for a stream");
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
      for (Call* call = c->streams; call != nullptr; call = call->next) {
        if (!call->done && call->deadline <= now) {
          counters_.timeouts++;
          timed_out = true;
          Fail(*call, TransportError::kTimeout, "request timed out");  // released at close
          nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
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
          for (Call* call : incoming_) pending_.push_back(call);
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
    std::deque<Call*> rest = std::move(pending_);
    {
      std::lock_guard lk(mu_);
      for (Call* call : incoming_) rest.push_back(call);
      incoming_.clear();
    }
    for (Call* call : rest)
      FailAndRelease(*call, TransportError::kShutdown, "client is shutting down");
  }

  const ClientSettings& s_;
  std::shared_ptr<TlsContext> tls_;
  Client::Counters& counters_;
  int epfd_ = -1;
  int evfd_ = -1;
  std::mutex mu_;
  bool stop_ = false;
  std::vector<Call*> incoming_;
  std::deque<Call*> pending_;
  SessionMemory mem_;  // for every session of this loop; outlives them (declared first)
  std::vector<std::unique_ptr<Conn>> conns_;
  std::string authority_;
  std::string last_connect_error_;
  std::vector<nghttp2_nv> nva_;  // scratch for SubmitOn
  struct Candidate {
    Conn* conn;
    size_t limit;
  };
  std::vector<Candidate> candidates_;  // scratch for Dispatch
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

namespace {

// Fills in the calls of `b` (every request) and hands them to the loops.
void Start(Batch* b, const ClientSettings& settings,
           std::vector<std::unique_ptr<Client::Loop>>& loops, std::atomic<uint64_t>& rr,
           std::atomic<uint64_t>& requests) {
  size_t n = b->requests.size();
  b->calls.assign(n, Call{});  // fresh calls; a reused batch keeps the array's capacity
  b->live.store(n, std::memory_order_relaxed);
  auto deadline = Clock::now() + settings.request_timeout;
  for (size_t i = 0; i < n; ++i) {
    Call& c = b->calls[i];
    c.batch = b;
    c.req = &b->requests[i];
    c.index = i;
    c.deadline = deadline;
  }
  requests += n;
  size_t nloops = loops.size();
  size_t chunk = (n + nloops - 1) / nloops;
  size_t first_loop = rr++;
  // After the last Enqueue the batch may already be gone (asynchronous submissions).
  Call* calls = b->calls.data();
  for (size_t l = 0, i = 0; l < nloops && i < n; ++l) {
    size_t m = std::min(chunk, n - i);
    loops[(first_loop + l) % nloops]->Enqueue(calls + i, m);
    i += m;
  }
}

}  // namespace

void Client::Submit(Request request, Callback done) {
  auto* b = new Batch;
  b->owned.push_back(std::move(request));
  b->requests = b->owned;
  b->done = [cb = std::move(done)](size_t, Response&& r) { cb(std::move(r)); };
  Start(b, settings_, loops_, rr_, counters_->requests);
}

void Client::SubmitBatch(std::vector<Request> requests,
                         std::function<void(size_t, Response&&)> done) {
  if (requests.empty()) return;
  auto* b = new Batch;
  b->owned = std::move(requests);
  b->requests = b->owned;
  b->done = std::move(done);
  Start(b, settings_, loops_, rr_, counters_->requests);
}

void Client::RunBatch(std::span<const Request> requests,
                      const std::function<void(size_t, Response&&)>& on_response) {
  if (requests.empty()) return;
  // Reused by this thread's next batch: no allocation (and no fresh pages) per batch.
  // RunBatch blocks, so one per thread is enough.
  thread_local Batch b;
  b.requests = requests;
  b.done = on_response;
  b.caller_waits = true;
  {
    std::lock_guard lk(b.mu);
    b.released = false;
  }
  Start(&b, settings_, loops_, rr_, counters_->requests);
  std::unique_lock lk(b.mu);
  b.cv.wait(lk, [&] { return b.released; });
  b.done = nullptr;
  b.requests = {};
}

std::vector<Response> Client::Execute(std::vector<Request> requests) {
  return ExecuteMapped<Response>(requests, [](Response&& r) { return std::move(r); });
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
