#include "bidder/notice/signer.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "bidder/core/codec.hpp"

namespace bidder::notice {
namespace {

// Bytes of the HMAC kept (see the header: 128 bits).
constexpr std::size_t mac_bytes = 16;
// Labels the message format, so a future layout can never verify as this one.
// v2 added the exchange and the key id, and varint framing.
constexpr std::string_view message_version = "bidder.notice.v3";

struct mac_deleter {
  void operator()(EVP_MAC* m) const noexcept { EVP_MAC_free(m); }
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};
using mac_ptr = std::unique_ptr<EVP_MAC, mac_deleter>;
using mac_ctx_ptr = std::unique_ptr<EVP_MAC_CTX, mac_deleter>;

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Varints (core/codec.hpp): prefix-free, and a length under 128 (almost every field) takes one
// byte, which keeps the message short: each 64 bytes of it costs one more SHA-256 block on every
// bid and every notice.

// Length-prefixed, so no choice of field contents can make two identities serialise alike.
void put_field(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

void serialise(const bid_identity& id, std::string& out) {
  out.clear();
  put_field(out, message_version);
  put_varint(out, id.purpose);
  put_field(out, id.request_id);
  put_field(out, id.imp_id);
  put_field(out, id.bid_id);
  put_field(out, id.campaign_id);
  put_field(out, id.creative_id);
  put_varint(out, static_cast<std::uint64_t>(id.price_micros));
  put_field(out, id.currency);
  put_varint(out, static_cast<std::uint64_t>(id.issued_at));
  put_field(out, id.users);
  put_field(out, id.exchange);
  put_field(out, id.key_id);
  // Last and only when set: every field before it is length-prefixed, so a message with it can
  // never read as one without it, and bids without shading keep the v3 message unchanged.
  if (!id.shading.empty()) put_field(out, id.shading);
}

void base64url(const unsigned char* in, std::size_t n, char* out) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::size_t o = 0;
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v =
        (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = alphabet[(v >> 6) & 63];
    out[o++] = alphabet[v & 63];
  }
  if (n - i == 1) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16;
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
  } else if (n - i == 2) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = alphabet[(v >> 6) & 63];
  }
}

static_assert((mac_bytes * 4 + 2) / 3 == signature_chars);

}  // namespace

struct signer::impl {
  struct keyed_mac {
    std::string id;
    mac_ctx_ptr keyed;  // a template context holding the key; duplicated per thread
  };
  mac_ptr mac;
  std::vector<keyed_mac> keys;
  std::size_t signing = 0;  // index into keys
};

struct signer::context::impl {
  struct keyed_mac {
    std::string id;
    mac_ctx_ptr ctx;
  };
  std::vector<keyed_mac> keys;  // as in signer::impl
  std::size_t signing = 0;
  std::string message;  // reused per call

  // The context of the key named `key_id`, or null. A ring holds a handful of keys: a scan.
  EVP_MAC_CTX* find(std::string_view key_id) noexcept {
    for (keyed_mac& k : keys) {
      if (k.id == key_id) return k.ctx.get();
    }
    return nullptr;
  }
  // Computes the truncated MAC of `id` with `ctx` into `sig`.
  void compute(EVP_MAC_CTX* ctx, const bid_identity& id, char (&sig)[signature_chars]) noexcept {
    unsigned char raw[mac_bytes];
    compute_raw(ctx, id, raw);
    base64url(raw, mac_bytes, sig);
  }
  void compute_raw(EVP_MAC_CTX* ctx, const bid_identity& id,
                   unsigned char (&raw)[mac_bytes]) noexcept {
    serialise(id, message);
    unsigned char out[EVP_MAX_MD_SIZE];
    std::size_t out_len = 0;
    // Re-initialising with no key keeps the key (and its precomputed pads): no allocation.
    const bool ok = EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&
                    EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(message.data()),
                                   message.size()) == 1 &&
                    EVP_MAC_final(ctx, out, &out_len, sizeof out) == 1 && out_len >= mac_bytes;
    // A context that worked once cannot fail later short of memory corruption.
    if (!ok) std::abort();
    std::memcpy(raw, out, mac_bytes);
  }
};

signer::signer(std::shared_ptr<const impl> impl) : impl_(std::move(impl)) {}
signer::signer(signer&&) noexcept = default;
signer& signer::operator=(signer&&) noexcept = default;
signer::~signer() = default;

result<signer> signer::from_key(std::string_view key, std::string_view key_id) {
  return from_keys({named_key{std::string(key_id), std::string(key)}}, key_id);
}

result<signer> signer::from_keys(const std::vector<named_key>& keys,
                                 std::string_view signing_key_id) {
  auto state = std::make_shared<impl>();
  state->mac.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!state->mac) return make_error(errc::invalid_config, "OpenSSL has no HMAC");
  bool found = false;
  for (const named_key& k : keys) {
    // A single unnamed key keeps the old message ("notice key: ..."); a ring names the key.
    const std::string who = keys.size() == 1 ? "notice key" : "notice key \"" + k.id + "\"";
    if (k.secret.size() < min_key_bytes) {
      return make_error(errc::invalid_config, who + ": at least " + std::to_string(min_key_bytes) +
                                                  " bytes, got " + std::to_string(k.secret.size()));
    }
    for (const auto& other : state->keys) {
      if (other.id == k.id) return make_error(errc::invalid_config, who + ": duplicate id");
    }
    mac_ctx_ptr keyed(EVP_MAC_CTX_new(state->mac.get()));
    if (!keyed) return make_error(errc::invalid_config, "OpenSSL: cannot make an HMAC context");
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(keyed.get(), reinterpret_cast<const unsigned char*>(k.secret.data()),
                     k.secret.size(), params) != 1) {
      return make_error(errc::invalid_config, "OpenSSL: cannot key HMAC-SHA256");
    }
    if (k.id == signing_key_id) {
      state->signing = state->keys.size();
      found = true;
    }
    state->keys.push_back({k.id, std::move(keyed)});
  }
  if (!found) {
    return make_error(errc::invalid_config,
                      "notice signing key \"" + std::string(signing_key_id) + "\": not given");
  }
  return signer(std::move(state));
}

result<std::string> signer::read_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::io_error, "notice key file " + path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error(errc::io_error, "notice key file " + path + ": read failed");
  const std::string contents = text.str();
  return std::string(trim(contents));
}

result<signer> signer::from_file(const std::string& path, std::string_view key_id) {
  auto key = read_key_file(path);
  if (!key) return key.error();
  auto made = from_key(*key, key_id);
  if (!made)
    return make_error(made.error().code, "notice_key_file " + path + ": " + made.error().message);
  return made;
}

result<signer> signer::random() {
  unsigned char key[32];
  if (RAND_bytes(key, sizeof key) != 1) {
    return make_error(errc::io_error, "OpenSSL RAND_bytes failed: cannot make a notice key");
  }
  auto made = from_key(std::string_view(reinterpret_cast<const char*>(key), sizeof key));
  OPENSSL_cleanse(key, sizeof key);
  return made;
}

std::string_view signer::signing_key_id() const noexcept { return impl_->keys[impl_->signing].id; }

signer::context signer::new_context() const {
  auto state = std::make_unique<context::impl>();
  for (const auto& k : impl_->keys) {
    mac_ctx_ptr ctx(EVP_MAC_CTX_dup(k.keyed.get()));
    if (!ctx) std::abort();  // out of memory at start-up
    state->keys.push_back({k.id, std::move(ctx)});
  }
  state->signing = impl_->signing;
  state->message.reserve(512);
  return context(std::move(state));
}

std::uint64_t signer::derive_secret(std::string_view label) const {
  context mac = new_context();
  bid_identity id;
  id.request_id = "bidder.derive";
  id.imp_id = label;
  unsigned char raw[mac_bytes];
  mac.impl_->compute_raw(mac.impl_->keys[mac.impl_->signing].ctx.get(), id, raw);
  std::uint64_t out = 0;
  for (std::size_t i = 0; i < 8; ++i) out = (out << 8) | raw[i];
  return out;
}

signer::context::context(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
signer::context::context(context&&) noexcept = default;
signer::context& signer::context::operator=(context&&) noexcept = default;
signer::context::~context() = default;

void signer::context::sign(const bid_identity& id, std::string& out) {
  char sig[signature_chars];
  impl_->compute(impl_->keys[impl_->signing].ctx.get(), id, sig);
  out.append(sig, signature_chars);
}

bool signer::context::verify(const bid_identity& id, std::string_view signature) noexcept {
  if (signature.size() != signature_chars) return false;
  EVP_MAC_CTX* ctx = impl_->find(id.key_id);
  if (ctx == nullptr) return false;  // a key removed from the ring (or never in it)
  char expected[signature_chars];
  impl_->compute(ctx, id, expected);
  return CRYPTO_memcmp(expected, signature.data(), signature_chars) == 0;
}

}  // namespace bidder::notice
