#pragma once
/// \file
/// sha1_hex() and git_blob_sha1(): SHA-1 digests for verifying dataset files.

#include <cstdint>
#include <cstdio>
#include <string>

namespace resilinet {

/// SHA-1 (FIPS 180-4) of `data` as 40 lowercase hex digits.
inline std::string sha1_hex(const std::string& data) {
  std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  std::string msg = data;
  const std::uint64_t bits = std::uint64_t(data.size()) * 8;
  msg += char(0x80);
  while (msg.size() % 64 != 56) msg += char(0);
  for (int i = 7; i >= 0; --i) msg += char((bits >> (8 * i)) & 0xFF);
  auto rotl = [](std::uint32_t x, int k) { return (x << k) | (x >> (32 - k)); };
  for (std::size_t chunk = 0; chunk < msg.size(); chunk += 64) {
    std::uint32_t w[80];
    for (int i = 0; i < 16; ++i)
      w[i] = std::uint32_t(std::uint8_t(msg[chunk + 4 * i])) << 24 |
             std::uint32_t(std::uint8_t(msg[chunk + 4 * i + 1])) << 16 |
             std::uint32_t(std::uint8_t(msg[chunk + 4 * i + 2])) << 8 |
             std::uint32_t(std::uint8_t(msg[chunk + 4 * i + 3]));
    for (int i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      std::uint32_t f, k;
      if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
      else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
      else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
      else f = b ^ c ^ d, k = 0xCA62C1D6;
      const std::uint32_t t = rotl(a, 5) + f + e + k + w[i];
      e = d, d = c, c = rotl(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
  char out[41];
  for (int i = 0; i < 5; ++i) std::snprintf(out + 8 * i, 9, "%08x", h[i]);
  return std::string(out, 40);
}

/// The git blob hash of a file's contents (what `git hash-object FILE` prints).
inline std::string git_blob_sha1(const std::string& contents) {
  return sha1_hex("blob " + std::to_string(contents.size()) + std::string(1, '\0') + contents);
}

}  // namespace resilinet
