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

 protected:
  explicit Transport(int fd) : fd_(fd) {}
  int fd_;
  std::string error_;
};

/// Takes ownership of `fd` (closes it).
std::unique_ptr<Transport> MakePlainTransport(int fd);

/// Shared OpenSSL context (thread-safe after construction). Client: verifies the
/// peer against `ca_file` (or the system store) unless verify=false; server: loads
/// cert/key. Both offer/select ALPN "h2" and require TLS 1.2+.
class TlsContext {
 public:
  static std::shared_ptr<TlsContext> Client(const std::string& ca_file, bool verify);
  static std::shared_ptr<TlsContext> Server(const std::string& cert_file,
                                            const std::string& key_file);
  ~TlsContext();
  SSL_CTX* ctx() const { return ctx_; }
  bool is_server() const { return server_; }

 private:
  TlsContext(SSL_CTX* ctx, bool server) : ctx_(ctx), server_(server) {}
  SSL_CTX* ctx_;
  bool server_;
};

/// Takes ownership of `fd`. `sni` is the server name for clients (empty: none).
std::unique_ptr<Transport> MakeTlsTransport(int fd, std::shared_ptr<TlsContext> ctx,
                                            const std::string& sni);

/// Last OpenSSL error queue entries as text (clears the queue).
std::string OpenSslErrors();

}  // namespace fanout::adapters::http2
