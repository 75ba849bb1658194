// A small deterministic random source.  Every document draws from its own
// stream, keyed by (seed, collection, index), so a document's content does not
// depend on the order or the number of documents generated before it.
#pragma once

#include <cstdint>
#include <string>

namespace nextcrm::gen {

inline std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

inline std::uint64_t hash_str(const std::string &s, std::uint64_t h = 1469598103934665603ULL) {
    for (unsigned char c : s)
        h = (h ^ c) * 1099511628211ULL;
    return h;
}

class Rng {
  public:
    explicit Rng(std::uint64_t seed) : state_(mix64(seed ^ 0x9e3779b97f4a7c15ULL)) {}
    Rng(std::uint64_t a, std::uint64_t b, std::uint64_t c = 0)
        : Rng(mix64(a + 0x9e3779b97f4a7c15ULL * (b + 1)) ^ mix64(c * 0xd1b54a32d192ed03ULL + b)) {}

    std::uint64_t next() {
        state_ += 0x9e3779b97f4a7c15ULL;
        return mix64(state_);
    }
    // Uniform in [0, n); n > 0.
    std::uint64_t below(std::uint64_t n) { return next() % n; }
    int range(int lo, int hi) {
        return lo + static_cast<int>(below(static_cast<std::uint64_t>(hi - lo + 1)));
    }
    double unit() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
    bool chance(double p) { return unit() < p; }
    template <typename T, std::size_t N>
    const T &pick(const T (&items)[N]) {
        return items[below(N)];
    }

  private:
    std::uint64_t state_;
};

} // namespace nextcrm::gen
