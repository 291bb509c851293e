#pragma once
// Counter-based random numbers. Draw i of stream (seed, stream) is a pure
// function of those three integers, so results never depend on how patients are
// spread over threads, and the NumPy reference reproduces every draw exactly.

#include <cmath>
#include <cstdint>

namespace cardiofair {

inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Named streams, one per purpose, so that adding draws to one purpose never
// shifts the draws of another.
enum class Stream : std::uint64_t {
  electrodes = 1,
  rhythm = 2,
  fibrillation = 3,
  noise = 4,
};

class RandomStream {
 public:
  RandomStream(std::uint64_t seed, Stream stream)
      : key_(mix64(seed ^
                   mix64(static_cast<std::uint64_t>(stream) + 0x632be59bd9b4e019ULL))) {
  }

  std::uint64_t next_bits() {
    ++counter_;
    return mix64(key_ + 0x9e3779b97f4a7c15ULL * counter_);
  }

  // Uniform on the open interval (0, 1).
  double uniform() {
    return (static_cast<double>(next_bits() >> 11) + 0.5) * 0x1.0p-53;
  }

  // Standard normal by Box-Muller (one value per two uniforms).
  double normal() {
    const double u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::uint64_t key_;
  std::uint64_t counter_ = 0;
};

}  // namespace cardiofair
