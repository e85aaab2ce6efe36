// Fuzz test of exo-protoc's front and back end: random bytes, token soup and mutated valid
// files must each end in a library or in diagnostics, never a crash, hang or sanitizer report.
// EXO_FUZZ_SEED and EXO_FUZZ_ITERATIONS override the deterministic defaults.
#include <stdlib.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocols/compiler/checker.h"
#include "protocols/compiler/cpp_writer.h"

namespace exo::protoc {
namespace {

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* value = getenv(name);
  return value != nullptr ? strtoull(value, nullptr, 0) : fallback;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Runs the whole compiler on `source`; checks the one invariant: a library xor diagnostics,
// and every diagnostic points into the file.
bool compile(const std::string& source) {
  Diagnostics diagnostics("fuzz.exo");
  auto library = compile_front_end(source, diagnostics);
  if (library) {
    EXPECT_TRUE(diagnostics.empty());
    std::string text = write_cpp(*library, "fuzz.exo");
    EXPECT_FALSE(text.empty());
    return true;
  }
  EXPECT_FALSE(diagnostics.empty()) << source;
  for (const Diagnostic& d : diagnostics.errors()) {
    EXPECT_GE(d.location.line, 1);
    EXPECT_GE(d.location.column, 1);
  }
  (void)diagnostics.format();
  return false;
}

const std::vector<std::string>& vocabulary() {
  static const std::vector<std::string> kWords = {"package",
                                                  "p",
                                                  ";",
                                                  "enum",
                                                  "struct",
                                                  "protocol",
                                                  "E",
                                                  "S",
                                                  "P",
                                                  "{",
                                                  "}",
                                                  "(",
                                                  ")",
                                                  "<",
                                                  ">",
                                                  ":",
                                                  ",",
                                                  "=",
                                                  "@",
                                                  "|",
                                                  "->",
                                                  "u8",
                                                  "u16",
                                                  "u32",
                                                  "u64",
                                                  "i8",
                                                  "i64",
                                                  "bool",
                                                  "array",
                                                  "bytes",
                                                  "string",
                                                  "optional",
                                                  "handle",
                                                  "vmo",
                                                  "read",
                                                  "write",
                                                  "call",
                                                  "send",
                                                  "idempotent",
                                                  "error",
                                                  "queue",
                                                  "1",
                                                  "0",
                                                  "-1",
                                                  "4096",
                                                  "0xff",
                                                  "99999999999999999999",
                                                  "a",
                                                  "b",
                                                  "x_y",
                                                  "/// doc\n",
                                                  "// comment\n",
                                                  "\n",
                                                  " ",
                                                  "A",
                                                  "B",
                                                  "4",
                                                  "65536",
                                                  "class"};
  return kWords;
}

std::vector<std::string> seeds() {
  std::vector<std::string> files;
  for (const char* name : {"enums", "structs", "protocol"}) {
    files.push_back(read_file(std::string(EXO_GOLDEN_DIR) + "/" + name + ".exo"));
  }
  for (const char* name : {"serial", "pci", "block"}) {
    files.push_back(read_file(std::string(EXO_PROTOCOLS_DIR) + "/" + name + ".exo"));
  }
  return files;
}

TEST(ParserFuzz, RandomBytes) {
  std::mt19937_64 rng(env_or("EXO_FUZZ_SEED", 1));
  uint64_t iterations = env_or("EXO_FUZZ_ITERATIONS", 20000);
  const std::string alphabet = "package struct enum protocol{}()<>;:,=@|->/ \n0123456789abcxyzSP_";
  for (uint64_t i = 0; i < iterations; ++i) {
    std::string source(rng() % 300, '\0');
    for (char& c : source) {
      c = rng() % 4 == 0 ? char(rng() % 256) : alphabet[rng() % alphabet.size()];
    }
    compile(source);
  }
}

TEST(ParserFuzz, TokenSoup) {
  std::mt19937_64 rng(env_or("EXO_FUZZ_SEED", 2));
  uint64_t iterations = env_or("EXO_FUZZ_ITERATIONS", 20000);
  const auto& words = vocabulary();
  for (uint64_t i = 0; i < iterations; ++i) {
    std::string source = rng() % 2 ? "package p; " : "";
    size_t count = rng() % 120;
    for (size_t k = 0; k < count; ++k) source += words[rng() % words.size()] + " ";
    compile(source);
  }
}

TEST(ParserFuzz, MutatedValidFiles) {
  std::mt19937_64 rng(env_or("EXO_FUZZ_SEED", 3));
  uint64_t iterations = env_or("EXO_FUZZ_ITERATIONS", 20000);
  std::vector<std::string> files = seeds();
  for (const std::string& file : files) ASSERT_TRUE(compile(file));
  const auto& words = vocabulary();
  uint64_t still_valid = 0;
  for (uint64_t i = 0; i < iterations; ++i) {
    std::string source = files[rng() % files.size()];
    int mutations = 1 + int(rng() % 4);
    for (int m = 0; m < mutations && !source.empty(); ++m) {
      size_t at = rng() % source.size();
      switch (rng() % 5) {
        case 0:
          source[at] = char(rng() % 256);
          break;
        case 1:
          source.erase(at, 1 + rng() % 16);
          break;
        case 2:
          source.insert(at, source.substr(rng() % source.size(), rng() % 32));
          break;
        case 3:
          source.insert(at, " " + words[rng() % words.size()] + " ");
          break;
        case 4:
          source.resize(at);
          break;
      }
    }
    still_valid += compile(source);
  }
  // Some mutations (inside comments, say) leave a valid file; the back end ran on those.
  RecordProperty("still_valid", std::to_string(still_valid));
}

TEST(ParserFuzz, DeepNestingIsRefusedNotOverflowed) {
  std::string deep = "package p; struct S { a: ";
  for (int i = 0; i < 100000; ++i) deep += "array<";
  EXPECT_FALSE(compile(deep));
  std::string docs = "package p;\n";
  for (int i = 0; i < 100000; ++i) docs += "/// x\n";
  EXPECT_FALSE(compile(docs));
}

}  // namespace
}  // namespace exo::protoc
