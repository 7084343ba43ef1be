#pragma once
// Byte transport under an HTTP/2 session: a non-blocking TCP socket, optionally
// wrapped in TLS (OpenSSL, ALPN "h2"). The event loops drive it; it never blocks.
// Not thread-safe: one transport belongs to one event-loop thread.
#include <cstddef>
#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace fanout::adapters::http2 {

enum class IoStatus {
  kOk,         // progress made (Read/Write: *n bytes)
  kWantRead,   // retry when the socket is readable
  kWantWrite,  // retry when the socket is writable
  kClosed,     // orderly EOF from the peer
  kError,      // fatal; see LastError()
};

class Transport {
 public:
  virtual ~Transport() = default;
  int fd() const { return fd_; }
  /// Completes the TLS handshake (kOk at once for plain TCP).
  virtual IoStatus Handshake() = 0;
  virtual IoStatus Read(char* buf, size_t cap, size_t* n) = 0;
  virtual IoStatus Write(const char* buf, size_t len, size_t* n) = 0;
  const std::string& LastError() const { return error_; }
  /// After the handshake: HTTP/2 was negotiated (ALPN h2; always for plain TCP, where the
  /// first bytes decide).
  bool h2() const { return h2_; }
  /// After the handshake: the common name (CN) of the client certificate the peer presented
  /// and the server verified against its client CA; empty when none (or plain TCP).
  virtual std::string PeerCommonName() const { return {}; }

 protected:
  explicit Transport(int fd) : fd_(fd) {}
  int fd_;
  std::string error_;
  bool h2_ = true;
};

/// Takes ownership of `fd` (closes it).
std::unique_ptr<Transport> MakePlainTransport(int fd);

/// Shared OpenSSL context (thread-safe after construction). Client: verifies the
/// peer against `ca_file` (or the system store) unless verify=false; server: loads
/// cert/key. Both offer/select ALPN "h2" and require TLS 1.2+; a server with `http1` also
/// serves clients that offer only "http/1.1" or no ALPN at all (HTTP/1.1 over TLS).
class TlsContext {
 public:
  static std::shared_ptr<TlsContext> Client(const std::string& ca_file, bool verify);
  /// `client_ca_file` non-empty: clients may present a certificate, verified against it (a
  /// client without one is still served: the application decides who needs one; one that
  /// fails verification fails the handshake).
  static std::shared_ptr<TlsContext> Server(const std::string& cert_file,
                                            const std::string& key_file, bool http1 = false,
                                            const std::string& client_ca_file = "");
  ~TlsContext();
  SSL_CTX* ctx() const { return ctx_; }
  bool is_server() const { return server_; }
  bool http1() const { return http1_; }

 private:
  TlsContext(SSL_CTX* ctx, bool server) : ctx_(ctx), server_(server) {}
  SSL_CTX* ctx_;
  bool server_;
  bool http1_ = false;
};

/// Takes ownership of `fd`. `sni` is the server name for clients (empty: none).
std::unique_ptr<Transport> MakeTlsTransport(int fd, std::shared_ptr<TlsContext> ctx,
                                            const std::string& sni);

/// Last OpenSSL error queue entries as text (clears the queue).
std::string OpenSslErrors();

/// For event-loop threads: OpenSSL writes with write(2), which raises SIGPIPE when the peer
/// has gone; blocked in this thread, the write fails with EPIPE instead (the process's own
/// handling of SIGPIPE is left alone: the signal is directed at the writing thread).
void BlockSigpipe();

}  // namespace fanout::adapters::http2
