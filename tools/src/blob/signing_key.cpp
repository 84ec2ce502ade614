// SPDX-License-Identifier: Apache-2.0
// Ed25519 keys: PEM in and out, key files written without ever exposing a secret, and
// libsodium's sign and verify (see signing_key.hpp).
#include "statepack/tools/blob/signing_key.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "statepack/tools/core/error.hpp"

namespace statepack {
namespace {

// RFC 8410: PKCS#8 v1 OneAsymmetricKey with OID 1.3.101.112 and the 32-byte seed as an OCTET
// STRING inside the privateKey OCTET STRING; SubjectPublicKeyInfo with the key as a BIT STRING.
constexpr uint8_t kSecretPrefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                       0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
constexpr uint8_t kPublicPrefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                       0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
// The prefix every Ed25519 DER shares up to the OID, for telling "another algorithm" apart.
constexpr uint8_t kEd25519Oid[5] = {0x06, 0x03, 0x2b, 0x65, 0x70};

void ensure_sodium() {
  if (sodium_init() < 0) throw Error(ErrorKind::kOutput, "libsodium failed to initialise");
}

std::string read_small_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input(path, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail_input(path, "read failed");
  const std::string content = text.str();
  if (content.size() > 16384) fail_input(path, "too large for a PEM key file");
  return content;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict base64 (RFC 4648 with padding): whole quanta, '=' only at the end, zero pad bits.
bool decode_base64(const std::string &text, std::vector<uint8_t> *out) {
  if (text.size() % 4 != 0) return false;
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad != 0) return false;
      v[k] = base64_value(c);
      if (v[k] < 0) return false;
    }
    if (pad == 1 && text[i + 2] == '=') return false;
    const uint32_t word =
        (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out->push_back(static_cast<uint8_t>(word >> 16));
    if (pad < 2) out->push_back(static_cast<uint8_t>(word >> 8));
    if (pad < 1) out->push_back(static_cast<uint8_t>(word));
    if ((pad == 2 && (word & 0xFFFF) != 0) || (pad == 1 && (word & 0xFF) != 0)) return false;
  }
  return true;
}

std::string encode_base64(const uint8_t *data, size_t size) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text;
  for (size_t i = 0; i < size; i += 3) {
    const size_t n = std::min<size_t>(3, size - i);
    uint32_t word = uint32_t(data[i]) << 16;
    if (n > 1) word |= uint32_t(data[i + 1]) << 8;
    if (n > 2) word |= data[i + 2];
    text += digits[(word >> 18) & 63];
    text += digits[(word >> 12) & 63];
    text += n > 1 ? digits[(word >> 6) & 63] : '=';
    text += n > 2 ? digits[word & 63] : '=';
  }
  return text;
}

// The DER inside one PEM block labelled `label`: BEGIN line, base64 lines, END line, nothing
// else but line ends (LF or CR LF).
std::vector<uint8_t> read_pem(const std::string &path, const std::string &label,
                              const std::string &what) {
  const std::string content = read_small_file(path);
  std::vector<std::string> lines;
  std::string line;
  for (const char c : content) {
    if (c == '\n') {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  if (!line.empty()) lines.push_back(line);
  const std::string begin = "-----BEGIN " + label + "-----";
  const std::string end = "-----END " + label + "-----";
  if (lines.empty() || lines.front() != begin) {
    if (!lines.empty() && lines.front().rfind("-----BEGIN ", 0) == 0) {
      fail_input(path, "is a PEM \"" + lines.front().substr(11, lines.front().size() - 16) +
                           "\", not an Ed25519 " + what + " (\"" + label + "\")");
    }
    fail_input(path, "not a PEM file (expected \"" + begin + "\" on the first line)");
  }
  if (lines.size() < 3 || lines.back() != end) {
    fail_input(path, "PEM block does not end with \"" + end + "\" (or has text after it)");
  }
  std::string body;
  for (size_t i = 1; i + 1 < lines.size(); ++i) body += lines[i];
  std::vector<uint8_t> der;
  if (!decode_base64(body, &der)) fail_input(path, "PEM body is not valid base64");
  return der;
}

void check_der(const std::string &path, const std::vector<uint8_t> &der, const uint8_t *prefix,
               size_t prefix_size, const std::string &what) {
  if (der.size() == prefix_size + 32 && std::memcmp(der.data(), prefix, prefix_size) == 0) return;
  const bool ed25519 =
      std::search(der.begin(), der.end(), kEd25519Oid, kEd25519Oid + 5) != der.end();
  fail_input(path, ed25519 ? "an Ed25519 " + what +
                                 " in a form other than OpenSSL's (PKCS#8 v1 / SPKI, " +
                                 std::to_string(prefix_size + 32) + " bytes of DER)"
                           : "not an Ed25519 " + what + " (another algorithm?)");
}

std::string pem(const std::string &label, const uint8_t *prefix, size_t prefix_size,
                const uint8_t *key) {
  std::vector<uint8_t> der(prefix, prefix + prefix_size);
  der.insert(der.end(), key, key + 32);
  return "-----BEGIN " + label + "-----\n" + encode_base64(der.data(), der.size()) + "\n-----END " +
         label + "-----\n";
}

std::string directory_of(const std::string &path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Refuses anything at `path` but a regular file (and that too unless `force`).
void check_target(const std::string &path, bool force) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    fail_output(path, std::string("cannot stat: ") + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    fail_output(path,
                "exists and is not a regular file (a symlink, FIFO, device or "
                "directory); refusing to replace it");
  }
  if (!force) fail_output(path, "exists; refusing to overwrite it (use --force)");
}

// Creates a temporary file beside `path` with `mode` from its creation (open's mode, reduced
// only by the umask), writes `content`, syncs it, and links (or with `force` renames) it in.
void write_new_file(const std::string &path, const std::string &content, mode_t mode, bool force) {
  check_target(path, force);
  uint8_t random[8];
  randombytes_buf(random, sizeof random);
  const std::string temp = directory_of(path) + "/.statepack-key-" + hex_bytes(random, 8) + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    fail_output(path, std::string("cannot create a file beside it: ") + std::strerror(errno));
  bool ok = true;
  size_t done = 0;
  while (ok && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  const int saved = errno;
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(temp.c_str());
    fail_output(path, std::string("write failed: ") + std::strerror(saved));
  }
  // link() fails if anything (even a dangling symlink) appeared at `path` meanwhile; rename()
  // replaces the name itself, never writing through a symlink.
  const int placed =
      force ? ::rename(temp.c_str(), path.c_str()) : ::link(temp.c_str(), path.c_str());
  const int place_errno = errno;
  if (!force || placed != 0) ::unlink(temp.c_str());
  if (placed != 0) {
    fail_output(path, place_errno == EEXIST
                          ? "exists; refusing to overwrite it (use --force)"
                          : std::string("cannot create: ") + std::strerror(place_errno));
  }
  const int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace

SecretKey::~SecretKey() {
  sodium_memzero(seed.data(), seed.size());
}

SecretKey key_from_seed(const std::array<uint8_t, 32> &seed) {
  ensure_sodium();
  SecretKey key;
  key.seed = seed;
  unsigned char full[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(key.public_key.bytes.data(), full, seed.data());
  sodium_memzero(full, sizeof full);
  return key;
}

SecretKey generate_key() {
  ensure_sodium();
  std::array<uint8_t, 32> seed;
  randombytes_buf(seed.data(), seed.size());
  SecretKey key = key_from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

SecretKey read_secret_key(const std::string &path) {
  std::vector<uint8_t> der = read_pem(path, "PRIVATE KEY", "private key");
  check_der(path, der, kSecretPrefix, sizeof kSecretPrefix, "private key");
  std::array<uint8_t, 32> seed;
  std::memcpy(seed.data(), der.data() + sizeof kSecretPrefix, 32);
  sodium_memzero(der.data(), der.size());
  SecretKey key = key_from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

PublicKey read_public_key(const std::string &path) {
  const std::vector<uint8_t> der = read_pem(path, "PUBLIC KEY", "public key");
  check_der(path, der, kPublicPrefix, sizeof kPublicPrefix, "public key");
  PublicKey key;
  std::memcpy(key.bytes.data(), der.data() + sizeof kPublicPrefix, 32);
  return key;
}

std::string secret_key_pem(const SecretKey &key) {
  return pem("PRIVATE KEY", kSecretPrefix, sizeof kSecretPrefix, key.seed.data());
}

std::string public_key_pem(const PublicKey &key) {
  return pem("PUBLIC KEY", kPublicPrefix, sizeof kPublicPrefix, key.bytes.data());
}

std::string public_key_c_array(const PublicKey &key, const std::string &symbol) {
  std::string text = "static const uint8_t " + symbol + "[32] = {";
  for (size_t i = 0; i < 32; ++i) {
    text += (i % 8 == 0) ? "\n    " : " ";
    text += "0x" + hex_bytes(&key.bytes[i], 1) + ",";
  }
  return text + "\n};\n";
}

KeyId key_id(const PublicKey &key) {
  const Digest256 digest = sha256(key.bytes.data(), key.bytes.size());
  KeyId id;
  std::memcpy(id.data(), digest.data(), id.size());
  return id;
}

Signature sign_digest(const SecretKey &key, const Digest256 &digest) {
  ensure_sodium();
  unsigned char full[crypto_sign_SECRETKEYBYTES];
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_seed_keypair(pk, full, key.seed.data());
  Signature signature;
  crypto_sign_detached(signature.data(), nullptr, digest.data(), digest.size(), full);
  sodium_memzero(full, sizeof full);
  return signature;
}

bool verify_digest(const PublicKey &key, const Digest256 &digest, const Signature &signature) {
  ensure_sodium();
  return crypto_sign_verify_detached(signature.data(), digest.data(), digest.size(),
                                     key.bytes.data()) == 0;
}

void write_key_files(const std::string &name, const SecretKey &key, bool force) {
  // Both names are checked before either file is written, so a refusal writes nothing.
  check_target(name + ".key", force);
  check_target(name + ".pub", force);
  std::string secret = secret_key_pem(key);
  try {
    write_new_file(name + ".key", secret, 0600, force);
  } catch (...) {
    sodium_memzero(secret.data(), secret.size());
    throw;
  }
  sodium_memzero(secret.data(), secret.size());
  write_new_file(name + ".pub", public_key_pem(key.public_key), 0644, force);
}

}  // namespace statepack
