#pragma once
// A minimal check harness for the C++ unit tests: each test file is one
// executable registered with ctest; a failed check prints where and why and
// makes the executable exit with status 1.

#include <cmath>
#include <cstdio>

namespace cardiofair::testing {

inline int& failures() {
  static int count = 0;
  return count;
}

inline void check(bool ok, const char* what, const char* file, int line) {
  if (!ok) {
    std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    ++failures();
  }
}

inline void check_near(double got, double want, double tol, const char* what,
                       const char* file, int line) {
  if (!(std::fabs(got - want) <= tol)) {
    std::fprintf(stderr, "%s:%d: %s: got %.6g, want %.6g +- %.3g\n", file, line,
                 what, got, want, tol);
    ++failures();
  }
}

inline int report(const char* name) {
  if (failures() == 0) {
    std::printf("%s: all checks passed\n", name);
    return 0;
  }
  std::fprintf(stderr, "%s: %d check(s) failed\n", name, failures());
  return 1;
}

}  // namespace cardiofair::testing

#define CF_CHECK(expr) ::cardiofair::testing::check((expr), #expr, __FILE__, __LINE__)
#define CF_CHECK_NEAR(got, want, tol) \
  ::cardiofair::testing::check_near((got), (want), (tol), #got, __FILE__, __LINE__)
