// UTF-8 helpers: validation, code point counting and decoding, trimming.
#ifndef TAGINDEX_UTIL_UTF8_H_
#define TAGINDEX_UTIL_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tagindex::util {

// Returns the byte offset of the first invalid UTF-8 sequence in `s`
// (overlong forms, surrogates and code points above U+10FFFF are invalid),
// or std::nullopt if `s` is valid.
std::optional<size_t> FindInvalidUtf8(std::string_view s);

// Decodes the code point starting at `s[pos]` of a valid UTF-8 string and
// advances `pos` past it. Behaviour is defined (returns U+FFFD, advances one
// byte) on invalid input, so it never reads out of bounds.
char32_t DecodeUtf8(std::string_view s, size_t& pos);

// Appends the UTF-8 encoding of code point `c` (at most U+10FFFF) to `out`.
void AppendUtf8(char32_t c, std::string* out);

// Number of code points in `s` (invalid bytes count one each).
size_t CountCodePoints(std::string_view s);

// True for Unicode white space (ASCII white space, U+00A0, U+1680,
// U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 ideographic space).
bool IsUnicodeSpace(char32_t c);

// True for control characters (C0, DEL, C1).
bool IsControl(char32_t c);

// Removes leading and trailing Unicode white space.
std::string_view TrimUnicodeSpace(std::string_view s);

}  // namespace tagindex::util

#endif  // TAGINDEX_UTIL_UTF8_H_
