// Little-endian encoding helpers for the persistent formats. The Decoder
// never reads past its input: every read is checked and a failed read
// leaves it in an error state that the caller turns into DataLoss.
#ifndef TAGINDEX_STORAGE_CODING_H_
#define TAGINDEX_STORAGE_CODING_H_

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace tagindex::storage {

inline void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
inline void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 4);
}
inline void PutU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}
inline void PutBytes(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

inline uint32_t LoadU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}
inline uint64_t LoadU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

class Decoder {
 public:
  explicit Decoder(std::span<const char> data) : data_(data) {}

  bool ok() const { return ok_; }
  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }

  uint8_t U8() {
    if (!Need(1)) return 0;
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t v = LoadU32(data_.data() + pos_);
    pos_ += 4;
    return v;
  }
  uint64_t U64() {
    if (!Need(8)) return 0;
    uint64_t v = LoadU64(data_.data() + pos_);
    pos_ += 8;
    return v;
  }
  // A length-prefixed byte string, at most `max` bytes.
  std::string_view Bytes(size_t max = SIZE_MAX) {
    uint32_t n = U32();
    if (!ok_ || n > max || !Need(n)) {
      ok_ = false;
      return {};
    }
    std::string_view s(data_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  std::span<const char> Raw(size_t n) {
    if (!Need(n)) return {};
    std::span<const char> s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  // Checks that `count` items of at least `min_bytes` each could still
  // follow, so that a count read from a file never sizes an allocation the
  // file cannot back.
  bool CanHold(uint64_t count, size_t min_bytes) {
    if (min_bytes != 0 && count > remaining() / min_bytes) ok_ = false;
    return ok_;
  }
  void Fail() { ok_ = false; }

 private:
  bool Need(size_t n) {
    if (!ok_ || n > remaining()) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::span<const char> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace tagindex::storage

#endif  // TAGINDEX_STORAGE_CODING_H_
