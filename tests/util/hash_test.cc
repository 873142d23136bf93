// Xxh3SeededMany (xxHash inlined, util/hash_inline.cc) against the
// library's own XXH3_64bits_withSeed (Xxh3Seeded): the snapshot's key
// lookup table is persisted with these values, so they must be identical.
#include "util/hash.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

TEST_CASE("hash: Xxh3SeededMany equals Xxh3Seeded for every length") {
  for (uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{0x9E3779B97F4A7C15}}) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed + 17);
    std::vector<std::string> text;
    for (size_t len = 0; len <= 600; ++len) {  // XXH3's size classes: 0-3, 4-8, 9-16, 17-128,
      std::string s(len, '\0');                // 129-240, and the long loop
      for (char& c : s) c = static_cast<char>(rng());
      text.push_back(std::move(s));
    }
    std::vector<const char*> data;
    std::vector<size_t> size;
    for (const std::string& s : text) {
      data.push_back(s.data());
      size.push_back(s.size());
    }
    std::vector<uint64_t> out(text.size());
    tagindex::util::Xxh3SeededMany(data.data(), size.data(), text.size(), seed, out.data());
    for (size_t i = 0; i < text.size(); ++i) {
      INFO("length " << i);
      REQUIRE(out[i] == tagindex::util::Xxh3Seeded(text[i].data(), text[i].size(), seed));
    }
  }
}
