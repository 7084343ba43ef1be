#include "adapters/http2/transport.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace fanout::adapters::http2 {
namespace {

class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(int fd) : Transport(fd) {}
  ~PlainTransport() override { ::close(fd_); }
  IoStatus Handshake() override { return IoStatus::kOk; }
  IoStatus Read(char* buf, size_t cap, size_t* n) override {
    for (;;) {
      ssize_t r = ::recv(fd_, buf, cap, 0);
      if (r > 0) {
        *n = static_cast<size_t>(r);
        return IoStatus::kOk;
      }
      if (r == 0) return IoStatus::kClosed;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::kWantRead;
      error_ = std::string("recv: ") + std::strerror(errno);
      return IoStatus::kError;
    }
  }
  IoStatus Write(const char* buf, size_t len, size_t* n) override {
    for (;;) {
      ssize_t r = ::send(fd_, buf, len, MSG_NOSIGNAL);
      if (r >= 0) {
        *n = static_cast<size_t>(r);
        return IoStatus::kOk;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::kWantWrite;
      error_ = std::string("send: ") + std::strerror(errno);
      return IoStatus::kError;
    }
  }
};

constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};
constexpr unsigned char kAlpnH2Http1[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// h2 only, or (arg != null) h2 preferred, else http/1.1.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void* arg) {
  unsigned char* o = nullptr;
  bool http1 = arg != nullptr;
  if (SSL_select_next_proto(&o, outlen, http1 ? kAlpnH2Http1 : kAlpnH2,
                            http1 ? sizeof(kAlpnH2Http1) : sizeof(kAlpnH2), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED) {
    return http1 ? SSL_TLSEXT_ERR_NOACK : SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = o;
  return SSL_TLSEXT_ERR_OK;
}

class TlsTransport final : public Transport {
 public:
  TlsTransport(int fd, std::shared_ptr<TlsContext> ctx, const std::string& sni)
      : Transport(fd), ctx_(std::move(ctx)) {
    ssl_ = SSL_new(ctx_->ctx());
    if (ssl_ == nullptr) throw std::runtime_error("SSL_new: " + OpenSslErrors());
    SSL_set_fd(ssl_, fd);
    if (ctx_->is_server()) {
      SSL_set_accept_state(ssl_);
    } else {
      SSL_set_connect_state(ssl_);
      if (!sni.empty()) {
        SSL_set_tlsext_host_name(ssl_, sni.c_str());
        // Verify the certificate name against the host (or IP literal).
        unsigned char buf[16];
        if (inet_pton(AF_INET, sni.c_str(), buf) == 1 ||
            inet_pton(AF_INET6, sni.c_str(), buf) == 1) {
          X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), sni.c_str());
        } else {
          SSL_set1_host(ssl_, sni.c_str());
        }
      }
    }
  }
  ~TlsTransport() override {
    SSL_free(ssl_);
    ::close(fd_);
  }
  IoStatus Handshake() override {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_);
    if (r == 1) {
      const unsigned char* proto = nullptr;
      unsigned int len = 0;
      SSL_get0_alpn_selected(ssl_, &proto, &len);
      h2_ = len == 2 && std::memcmp(proto, "h2", 2) == 0;
      if (!h2_ && !ctx_->http1()) {
        error_ = "TLS: peer did not negotiate ALPN h2";
        return IoStatus::kError;
      }
      return IoStatus::kOk;
    }
    return Map(r, "TLS handshake");
  }
  std::string PeerCommonName() const override {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) return {};
    std::string cn;
    if (SSL_get_verify_result(ssl_) == X509_V_OK) {
      char buf[256];
      int len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf,
                                          static_cast<int>(sizeof buf));
      if (len > 0) cn.assign(buf, static_cast<size_t>(len));
    }
    X509_free(cert);
    return cn;
  }
  IoStatus Read(char* buf, size_t cap, size_t* n) override {
    ERR_clear_error();
    int r = SSL_read(ssl_, buf, static_cast<int>(cap));
    if (r > 0) {
      *n = static_cast<size_t>(r);
      return IoStatus::kOk;
    }
    return Map(r, "SSL_read");
  }
  IoStatus Write(const char* buf, size_t len, size_t* n) override {
    ERR_clear_error();
    int r = SSL_write(ssl_, buf, static_cast<int>(len));
    if (r > 0) {
      *n = static_cast<size_t>(r);
      return IoStatus::kOk;
    }
    return Map(r, "SSL_write");
  }

 private:
  IoStatus Map(int r, const char* what) {
    int e = SSL_get_error(ssl_, r);
    switch (e) {
      case SSL_ERROR_WANT_READ:
        return IoStatus::kWantRead;
      case SSL_ERROR_WANT_WRITE:
        return IoStatus::kWantWrite;
      case SSL_ERROR_ZERO_RETURN:
        return IoStatus::kClosed;
      case SSL_ERROR_SYSCALL:
        if (errno == 0) return IoStatus::kClosed;
        error_ = std::string(what) + ": " + std::strerror(errno);
        return IoStatus::kError;
      default: {
        long v = SSL_get_verify_result(ssl_);
        error_ = std::string(what) + ": " + OpenSslErrors();
        if (v != X509_V_OK)
          error_ += std::string(" (verify: ") + X509_verify_cert_error_string(v) + ")";
        return IoStatus::kError;
      }
    }
  }
  std::shared_ptr<TlsContext> ctx_;
  SSL* ssl_ = nullptr;
};

}  // namespace

std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown error" : out;
}

void BlockSigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::unique_ptr<Transport> MakePlainTransport(int fd) {
  return std::make_unique<PlainTransport>(fd);
}

std::unique_ptr<Transport> MakeTlsTransport(int fd, std::shared_ptr<TlsContext> ctx,
                                            const std::string& sni) {
  return std::make_unique<TlsTransport>(fd, std::move(ctx), sni);
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::shared_ptr<TlsContext> TlsContext::Client(const std::string& ca_file, bool verify) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) throw std::runtime_error("SSL_CTX_new: " + OpenSslErrors());
  std::shared_ptr<TlsContext> out(new TlsContext(ctx, false));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_alpn_protos(ctx, kAlpnH2, sizeof(kAlpnH2));
  // Read whole socket buffers instead of a record header and then its body: one
  // read(2) per burst of records rather than two per record.
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
  if (verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                             : SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
    if (ok != 1) throw std::runtime_error("TLS CA '" + ca_file + "': " + OpenSslErrors());
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return out;
}

std::shared_ptr<TlsContext> TlsContext::Server(const std::string& cert_file,
                                               const std::string& key_file, bool http1,
                                               const std::string& client_ca_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) throw std::runtime_error("SSL_CTX_new: " + OpenSslErrors());
  std::shared_ptr<TlsContext> out(new TlsContext(ctx, true));
  out->http1_ = http1;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_read_ahead(ctx, 1);  // see Client()
  SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    throw std::runtime_error("TLS cert '" + cert_file + "': " + OpenSslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw std::runtime_error("TLS key '" + key_file + "': " + OpenSslErrors());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    throw std::runtime_error("TLS key does not match cert: " + OpenSslErrors());
  }
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, http1 ? out.get() : nullptr);
  if (!client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, client_ca_file.c_str(), nullptr) != 1) {
      throw std::runtime_error("TLS client CA '" + client_ca_file + "': " + OpenSslErrors());
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    // Required with client verification: without it OpenSSL fails every TLS 1.2 session
    // resumption (SSL_R_SESSION_ID_CONTEXT_UNINITIALIZED).
    static const unsigned char kContext[] = "fanout-https";
    SSL_CTX_set_session_id_context(ctx, kContext, sizeof kContext - 1);
  }
  return out;
}

}  // namespace fanout::adapters::http2
