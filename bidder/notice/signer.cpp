#include "bidder/notice/signer.hpp"

// HMAC is computed from SHA-256 midstates (RFC 2104 over OpenSSL's low-level SHA256_*, which
// OpenSSL 3 marks deprecated but still ships, with the same SHA-NI/AVX2 block functions as EVP):
// the EVP_MAC path re-duplicates its digest context on every init, two mallocs per signature,
// four signatures per bid, and costs ~70 ns more per call through the provider dispatch.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

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

constexpr std::size_t sha256_block = 64;

// A key's HMAC-SHA256 state: SHA-256 after absorbing the key XOR ipad, and after key XOR opad.
// Copying a midstate (a plain struct) and finishing it is one HMAC without touching the key.
struct hmac_key {
  SHA256_CTX inner;
  SHA256_CTX outer;
};

hmac_key make_hmac_key(std::string_view secret) {
  unsigned char block[sha256_block] = {};
  if (secret.size() > sha256_block) {  // RFC 2104: longer keys are hashed first
    SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), block);
  } else {
    std::memcpy(block, secret.data(), secret.size());
  }
  hmac_key key;
  unsigned char pad[sha256_block];
  for (std::size_t i = 0; i < sha256_block; ++i) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&key.inner);
  SHA256_Update(&key.inner, pad, sizeof pad);
  for (std::size_t i = 0; i < sha256_block; ++i) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&key.outer);
  SHA256_Update(&key.outer, pad, sizeof pad);
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(pad, sizeof pad);
  return key;
}

// HMAC-SHA256(key, message) into `out`: no allocation, no failure.
void hmac_sha256(const hmac_key& key, std::string_view message,
                 unsigned char (&out)[SHA256_DIGEST_LENGTH]) noexcept {
  SHA256_CTX ctx = key.inner;
  SHA256_Update(&ctx, message.data(), message.size());
  unsigned char inner[SHA256_DIGEST_LENGTH];
  SHA256_Final(inner, &ctx);
  ctx = key.outer;
  SHA256_Update(&ctx, inner, sizeof inner);
  SHA256_Final(out, &ctx);
  OPENSSL_cleanse(&ctx, sizeof ctx);
}

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
    hmac_key key;
  };
  std::vector<keyed_mac> keys;
  std::size_t signing = 0;  // index into keys

  ~impl() {
    for (keyed_mac& k : keys) OPENSSL_cleanse(&k.key, sizeof k.key);
  }
};

struct signer::context::impl {
  std::shared_ptr<const signer::impl> keys;  // immutable: shared by every thread's context
  std::string message;                       // reused per call

  // The key named `key_id`, or null. A ring holds a handful of keys: a scan.
  const hmac_key* find(std::string_view key_id) const noexcept {
    for (const auto& k : keys->keys) {
      if (k.id == key_id) return &k.key;
    }
    return nullptr;
  }
  const hmac_key& signing() const noexcept { return keys->keys[keys->signing].key; }
  // Computes the truncated MAC of `id` with `key` into `sig`.
  void compute(const hmac_key& key, const bid_identity& id, char (&sig)[signature_chars]) noexcept {
    unsigned char raw[mac_bytes];
    compute_raw(key, id, raw);
    base64url(raw, mac_bytes, sig);
  }
  void compute_raw(const hmac_key& key, const bid_identity& id,
                   unsigned char (&raw)[mac_bytes]) noexcept {
    serialise(id, message);
    unsigned char out[SHA256_DIGEST_LENGTH];
    hmac_sha256(key, message, out);
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
    if (k.id == signing_key_id) {
      state->signing = state->keys.size();
      found = true;
    }
    state->keys.push_back({k.id, make_hmac_key(k.secret)});
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
  state->keys = impl_;
  state->message.reserve(512);
  return context(std::move(state));
}

std::uint64_t signer::derive_secret(std::string_view label) const {
  context mac = new_context();
  bid_identity id;
  id.request_id = "bidder.derive";
  id.imp_id = label;
  unsigned char raw[mac_bytes];
  mac.impl_->compute_raw(mac.impl_->signing(), id, raw);
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
  impl_->compute(impl_->signing(), id, sig);
  out.append(sig, signature_chars);
}

bool signer::context::verify(const bid_identity& id, std::string_view signature) noexcept {
  if (signature.size() != signature_chars) return false;
  const hmac_key* key = impl_->find(id.key_id);
  if (key == nullptr) return false;  // a key removed from the ring (or never in it)
  char expected[signature_chars];
  impl_->compute(*key, id, expected);
  return CRYPTO_memcmp(expected, signature.data(), signature_chars) == 0;
}

}  // namespace bidder::notice
