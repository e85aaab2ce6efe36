// Golden tests of exo-protoc's C++ output, and of the tool's behaviour on disk (exit status,
// no output from an invalid file). EXO_UPDATE_GOLDEN=1 rewrites the golden files.
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "protocols/compiler/checker.h"
#include "protocols/compiler/cpp_writer.h"

namespace exo::protoc {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool exists(const std::string& path) {
  return access(path.c_str(), F_OK) == 0;
}

std::string generate(const std::string& path, const std::string& name) {
  Diagnostics diagnostics(name);
  auto library = compile_front_end(read_file(path), diagnostics);
  EXPECT_NE(library, nullptr) << diagnostics.format();
  if (!library) return "";
  return write_cpp(*library, name);
}

class Golden : public testing::TestWithParam<const char*> {};

TEST_P(Golden, MatchesTheCheckedInOutput) {
  std::string name = GetParam();
  std::string source = std::string(EXO_GOLDEN_DIR) + "/" + name + ".exo";
  std::string golden = std::string(EXO_GOLDEN_DIR) + "/" + name + ".h.golden";
  std::string text = generate(source, name + ".exo");
  if (getenv("EXO_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden, std::ios::binary) << text;
    GTEST_SKIP() << "rewrote " << golden;
  }
  ASSERT_TRUE(exists(golden)) << golden << " is missing; run with EXO_UPDATE_GOLDEN=1";
  EXPECT_EQ(text, read_file(golden)) << "generated code changed; review, then EXO_UPDATE_GOLDEN=1";
}

TEST_P(Golden, IsDeterministic) {
  std::string name = GetParam();
  std::string source = std::string(EXO_GOLDEN_DIR) + "/" + name + ".exo";
  EXPECT_EQ(generate(source, name), generate(source, name));
}

INSTANTIATE_TEST_SUITE_P(Small, Golden, testing::Values("enums", "structs", "protocol"));

TEST(Protocols, TheServerProtocolsCompile) {
  for (const char* name : {"serial", "pci", "block"}) {
    std::string source = std::string(EXO_PROTOCOLS_DIR) + "/" + name + ".exo";
    EXPECT_FALSE(generate(source, name).empty()) << name;
  }
}

class Tool : public testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/exo_protoc_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { (void)system(("rm -rf '" + dir_ + "'").c_str()); }

  int run(const std::string& input, const std::string& output) {
    std::string command = std::string(EXO_PROTOC_PATH) + " '" + input + "' -o '" + output +
                          "' 2>'" + dir_ + "/stderr'";
    int status = system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string dir_;
};

TEST_F(Tool, WritesTheHeaderForAValidFile) {
  std::string input = std::string(EXO_GOLDEN_DIR) + "/protocol.exo";
  std::string output = dir_ + "/protocol.h";
  EXPECT_EQ(run(input, output), 0);
  EXPECT_EQ(read_file(output), read_file(std::string(EXO_GOLDEN_DIR) + "/protocol.h.golden"));
}

TEST_F(Tool, FailsWithoutOutputForAnInvalidFile) {
  std::string input = dir_ + "/bad.exo";
  std::string output = dir_ + "/bad.h";
  std::ofstream(input) << "package bad;\nstruct S { a: Missing; }\n";
  std::ofstream(output) << "stale header from an earlier, valid version";
  EXPECT_EQ(run(input, output), 1);
  EXPECT_FALSE(exists(output));
  EXPECT_FALSE(exists(output + ".tmp"));
  EXPECT_EQ(read_file(dir_ + "/stderr"), input + ":2:15: error: unknown type 'Missing'\n");
}

TEST_F(Tool, RejectsBadUsage) {
  EXPECT_EQ(run(dir_ + "/does_not_exist.exo", dir_ + "/out.h"), 1);
  EXPECT_FALSE(exists(dir_ + "/out.h"));
  int status = system((std::string(EXO_PROTOC_PATH) + " 2>/dev/null").c_str());
  EXPECT_NE(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace exo::protoc
