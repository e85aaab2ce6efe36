// What the ring-3 test and benchmark programs share: counted expectations that end in the
// "N passed, N failed" line, and cycle-counter samples with their median and 99th percentile.
#pragma once

#include <stdint.h>

#include "exo/initrd.h"
#include "exo/ipc.h"
#include "exo/print.h"
#include "kernel/abi/status_map.h"

namespace exo::user_test {

// Starts argv[0] from the initrd with argc arguments and one start-up handle, `handle` (moved
// to the child), in role EXO_START_HANDLE_USER: how the test programs hand a child its endpoint.
inline Result<sys::Handle> spawn_with_user_handle(const char* const* argv, usize argc, sys::Handle handle) {
  const sys::Handle handles[] = {handle};
  const uint32_t roles[] = {EXO_START_HANDLE_USER};
  sys::SpawnOptions options;
  options.argv = argv;
  options.argc = argc;
  options.handles = handles;
  options.roles = roles;
  options.handle_count = 1;
  return sys::spawn_from_initrd(argv[0], options);
}

// The leading decimal digits of a program argument ("1000" -> 1000; no digits -> 0).
inline uint32_t parse_count(const char* text) {
  uint32_t n = 0;
  for (const char* c = text; *c >= '0' && *c <= '9'; ++c) n = n * 10 + uint32_t(*c - '0');
  return n;
}

// echo_server (tests/user/echo_server.cc) as a client sees it.
struct EchoServer {
  sys::Handle process = 0;
  sys::Handle endpoint = 0;  // send-only handle to the server's endpoint; 0 if it did not start
};

// Starts echo_server with its arguments (argv[0] is "echo_server") and a bootstrap endpoint,
// and receives the server's endpoint over it. Any test server that greets the same way (one
// message carrying its endpoint handle on EXO_START_HANDLE_USER) starts with it too.
inline EchoServer start_echo_server(const char* const* argv, usize argc) {
  EchoServer server;
  Result<sys::Handle> bootstrap = sys::endpoint_create();
  if (!bootstrap.ok()) return server;
  Result<sys::Handle> for_server = sys::handle_duplicate(*bootstrap, EXO_RIGHT_WRITE | EXO_RIGHT_TRANSFER);
  Result<sys::Handle> process =
      for_server.ok() ? spawn_with_user_handle(argv, argc, *for_server) : Result<sys::Handle>(for_server.error());
  if (!process.ok()) {
    sys::print("cannot start {}: {}\n", argv[0], process.error());
  } else {
    server.process = *process;
    sys::IpcMessage hello;
    if (sys::ipc_recv(*bootstrap, hello) == 0 && hello.handle_count == 1) {
      server.endpoint = static_cast<sys::Handle>(hello.words[0]);
    }
  }
  (void)sys::handle_close(*bootstrap);
  return server;
}

inline int passed = 0;
inline int failed = 0;

inline void expect_true(const char* what, bool condition) {
  if (condition) {
    ++passed;
    return;
  }
  ++failed;
  sys::print("FAIL {}\n", what);
}

inline void expect_status(const char* what, int64_t got, int64_t want) {
  if (got == want) {
    ++passed;
    return;
  }
  ++failed;
  sys::print("FAIL {}: status {} ({}), expected {} ({})\n", what, got, abi::abi_status_name(got),
             want, abi::abi_status_name(want));
}

inline void expect_ok(const char* what, int64_t got) {
  if (got >= 0) {
    ++passed;
    return;
  }
  ++failed;
  sys::print("FAIL {}: status {} ({}), expected success\n", what, got, abi::abi_status_name(got));
}

// Prints the summary line and returns the exit status (the number of failures).
inline int finish() {
  sys::print("{} passed, {} failed\n", passed, failed);
  return failed;
}

inline uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t{hi} << 32) | lo;
}

// `kSamples` rounds of `per_sample` calls of op(); per-operation cycles, sorted.
template <int kSamples>
struct Samples {
  uint64_t values[kSamples];
  template <typename Op>
  void run(int per_sample, Op&& op) {
    for (int s = 0; s < kSamples; ++s) {
      uint64_t start = rdtsc();
      for (int i = 0; i < per_sample; ++i) op(i);
      values[s] = (rdtsc() - start) / static_cast<uint64_t>(per_sample);
    }
    for (int i = 1; i < kSamples; ++i) {
      for (int j = i; j > 0 && values[j - 1] > values[j]; --j) {
        uint64_t t = values[j];
        values[j] = values[j - 1];
        values[j - 1] = t;
      }
    }
  }
  uint64_t median() const { return values[kSamples / 2]; }
  uint64_t p99() const { return values[kSamples * 99 / 100]; }
};

// One latency per operation (not per batch), up to kCapacity of them: the distribution the
// latency benchmarks report (median, 99th percentile, extremes). Values above 2^32 - 1 cycles
// are clamped; max() tells whether that happened.
template <int kCapacity>
struct LatencySamples {
  uint32_t values[kCapacity];
  int count = 0;
  void add(uint64_t cycles) {
    if (count < kCapacity) values[count++] = cycles > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(cycles);
  }
  // Heapsort: O(n log n) with no allocation, for 100,000 samples in ring 3.
  void sort() {
    auto sift = [this](int root, int end) {
      for (int child; (child = 2 * root + 1) < end; root = child) {
        if (child + 1 < end && values[child] < values[child + 1]) ++child;
        if (values[root] >= values[child]) return;
        uint32_t t = values[root];
        values[root] = values[child];
        values[child] = t;
      }
    };
    for (int i = count / 2 - 1; i >= 0; --i) sift(i, count);
    for (int end = count - 1; end > 0; --end) {
      uint32_t t = values[0];
      values[0] = values[end];
      values[end] = t;
      sift(0, end);
    }
  }
  // After sort(), with count > 0.
  uint32_t min() const { return values[0]; }
  uint32_t median() const { return values[count / 2]; }
  uint32_t p99() const { return values[static_cast<int64_t>(count) * 99 / 100]; }
  uint32_t max() const { return values[count - 1]; }
};

}  // namespace exo::user_test
