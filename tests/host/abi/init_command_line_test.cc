// init's parsing of startup.list lines and of run=NAME ARGS on the kernel command line.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "servers/init/command_line.h"

namespace {

using exo::init::find_run_request;
using exo::init::split_words;

std::vector<std::string> split(std::string text, size_t capacity = exo::init::kMaxWords) {
  std::vector<char> line(text.begin(), text.end());
  line.push_back('\0');
  std::vector<char*> words(capacity + 1);
  size_t n = split_words(line.data(), words.data(), capacity);
  EXPECT_LE(n, capacity);
  return std::vector<std::string>(words.begin(), words.begin() + n);
}

TEST(InitStartupList, SplitsWordsAndDropsComments) {
  EXPECT_EQ(split("serial --port 0x3f8"), (std::vector<std::string>{"serial", "--port", "0x3f8"}));
  EXPECT_EQ(split("  \t pci   "), (std::vector<std::string>{"pci"}));
  EXPECT_EQ(split("block disk=0 # the boot disk"), (std::vector<std::string>{"block", "disk=0"}));
  EXPECT_EQ(split("block#comment"), (std::vector<std::string>{"block"}));
  EXPECT_EQ(split("# only a comment"), std::vector<std::string>{});
  EXPECT_EQ(split(""), std::vector<std::string>{});
  EXPECT_EQ(split("dos\r"), (std::vector<std::string>{"dos"}));
  EXPECT_EQ(split("a b c d e", 3), (std::vector<std::string>{"a", "b", "c"}));
}

size_t run(std::vector<std::string> args, std::vector<std::string>* out, bool* empty,
           size_t capacity = exo::init::kMaxWords) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::vector<char*> run_argv(capacity + 1);
  size_t n = find_run_request(static_cast<int>(argv.size()), argv.data(), run_argv.data(), capacity,
                              empty);
  out->assign(run_argv.begin(), run_argv.begin() + n);
  return n;
}

TEST(InitRunRequest, TakesNameAndEverythingAfterIt) {
  std::vector<std::string> out;
  bool empty = true;
  EXPECT_EQ(run({"init", "ktest=none", "run=syscall_fuzz", "seed=5", "count=10"}, &out, &empty),
            3u);
  EXPECT_FALSE(empty);
  EXPECT_EQ(out, (std::vector<std::string>{"syscall_fuzz", "seed=5", "count=10"}));
  EXPECT_EQ(run({"init", "run=fault_test", "ud"}, &out, &empty), 2u);
  EXPECT_EQ(out, (std::vector<std::string>{"fault_test", "ud"}));
}

TEST(InitRunRequest, NoneEmptyAndTruncated) {
  std::vector<std::string> out;
  bool empty = true;
  EXPECT_EQ(run({"init", "shutdown"}, &out, &empty), 0u);
  EXPECT_FALSE(empty);
  EXPECT_EQ(run({"init"}, &out, &empty), 0u);
  EXPECT_EQ(run({"run=not_argv0"}, &out, &empty), 0u);  // argv[0] is init's own name
  EXPECT_EQ(run({"init", "run="}, &out, &empty), 0u);
  EXPECT_TRUE(empty);
  EXPECT_EQ(run({"init", "runner=x"}, &out, &empty), 0u);
  EXPECT_EQ(run({"init", "ru"}, &out, &empty), 0u);
  EXPECT_EQ(run({"init", "run=a", "1", "2", "3"}, &out, &empty, 2), 2u);
  EXPECT_EQ(out, (std::vector<std::string>{"a", "1"}));
  EXPECT_EQ(run({"init", "run=first", "run=second"}, &out, &empty), 2u);
  EXPECT_EQ(out, (std::vector<std::string>{"first", "run=second"}));
}

}  // namespace
