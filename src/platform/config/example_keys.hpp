#pragma once
// Key material for `fanout config example --keys-dir DIR`, so the printed config works
// against pushsim without edits: an APNs auth key (.p8: PKCS#8 PEM, EC P-256) and a Google
// service-account JSON with an RSA-2048 key. These are throwaway local keys, never Apple's or
// Google's.
#include <string>
#include <tl/expected.hpp>

#include "platform/config/settings.hpp"

namespace fanout::config {

struct GeneratedKeys {
  bool apns_key_written = false;         // false: the file existed and was kept
  bool service_account_written = false;  // idem
};

/// Writes push.apns.key_file and push.fcm.service_account_file of `example` (mode 0600),
/// keeping files that already exist. The service account uses push.fcm.project_id and
/// push.fcm.token_uri. Error: a message naming the file.
tl::expected<GeneratedKeys, std::string> WriteExampleKeys(const Settings& example);

}  // namespace fanout::config
