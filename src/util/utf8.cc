#include "util/utf8.h"

#include <cstdint>
#include <cstring>

namespace tagindex::util {
namespace {

// Length of a valid sequence starting at s[i], or 0 if invalid. Follows the
// well-formed byte sequence table of the Unicode standard (Table 3-7).
inline __attribute__((always_inline)) size_t ValidSequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const size_t left = s.size() - i;
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    return (left >= 2 && (b(1) & 0xC0) == 0x80) ? 2 : 0;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3) return 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
    if (b(1) < lo || b(1) > hi || (b(2) & 0xC0) != 0x80) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4) return 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    if (b(1) < lo || b(1) > hi || (b(2) & 0xC0) != 0x80 || (b(3) & 0xC0) != 0x80) {
      return 0;
    }
    return 4;
  }
  return 0;
}

}  // namespace

std::optional<size_t> FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII fast path: eight bytes without a high bit are eight valid
    // one-byte sequences (most customer keys and names are ASCII).
    if (s.size() - i >= 8) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const size_t n = ValidSequenceLength(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::nullopt;
}

char32_t DecodeUtf8(std::string_view s, size_t& pos) {
  const size_t n = ValidSequenceLength(s, pos);
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[pos + k]); };
  char32_t c;
  switch (n) {
    case 1:
      c = b(0);
      break;
    case 2:
      c = ((b(0) & 0x1Fu) << 6) | (b(1) & 0x3Fu);
      break;
    case 3:
      c = ((b(0) & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
      break;
    case 4:
      c = ((b(0) & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
      break;
    default:
      pos += 1;
      return U'\uFFFD';
  }
  pos += n;
  return c;
}

size_t CountCodePoints(std::string_view s) {
  size_t count = 0;
  for (size_t pos = 0; pos < s.size(); ++count) DecodeUtf8(s, pos);
  return count;
}

bool IsUnicodeSpace(char32_t c) {
  return c == U' ' || (c >= U'\t' && c <= U'\r') || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000 || c == 0xFEFF;
}

bool IsControl(char32_t c) { return c < 0x20 || (c >= 0x7F && c <= 0x9F); }

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string_view TrimUnicodeSpace(std::string_view s) {
  if (s.empty()) return s;
  // Nothing to trim (the common cell): the first and the last code point
  // are not spaces. The last one starts at its lead byte: a valid sequence
  // decoded from the front ends exactly there too, because no sequence
  // swallows a lead byte.
  {
    size_t first = 0;
    if (!IsUnicodeSpace(DecodeUtf8(s, first))) {
      size_t p = s.size() - 1;
      while (p > 0 && s.size() - p < 4 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
      size_t q = p;
      const char32_t last = DecodeUtf8(s, q);
      if (q == s.size() && !IsUnicodeSpace(last)) return s;
    }
  }
  size_t begin = 0;
  while (begin < s.size()) {
    size_t next = begin;
    if (!IsUnicodeSpace(DecodeUtf8(s, next))) break;
    begin = next;
  }
  size_t end = begin;
  size_t last_non_space_end = begin;
  while (end < s.size()) {
    if (!IsUnicodeSpace(DecodeUtf8(s, end))) last_non_space_end = end;
  }
  return s.substr(begin, last_non_space_end - begin);
}

}  // namespace tagindex::util
