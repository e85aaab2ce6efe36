// The syscall table, libsys's raw stubs, the status mapping and docs/syscalls.md all agree.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kernel/abi/process_start.h"
#include "kernel/abi/status.h"
#include "kernel/abi/status_map.h"
#include "kernel/abi/syscalls.h"
#include "kernel/object/rights.h"
#include "libsys/src/arch/x86_64/raw_syscall.h"

namespace {

using exo::Error;

template <typename R, typename... A>
constexpr unsigned arity(R (*)(A...)) {
  return sizeof...(A);
}

// Each raw stub takes exactly the table's argument count, all 64-bit registers.
#define CHECK_STUB(number, name, argc)                                  \
  static_assert(arity(&exo::sys::raw::name) == (argc), #name " arity"); \
  static_assert(EXO_SYS_##name == (number), #name " number");           \
  static_assert(exo::abi::syscall_argument_count(number) == (argc), #name " count");
EXO_SYSCALLS(CHECK_STUB)
#undef CHECK_STUB

// A kernel-style dispatcher expanded from the same table: it must compile (arity) and route
// each number to its own handler.
struct Call {
  unsigned number;
  unsigned argc;
};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define HANDLER(number, name, argc)           \
  Call sys_##name(EXO_SYSCALL_PARAMS(argc)) { \
    return Call{number, argc};                \
  }
EXO_SYSCALLS(HANDLER)
#undef HANDLER
#pragma GCC diagnostic pop

Call dispatch(uint64_t number, const uint64_t* regs) {
  switch (number) {
#define CASE(number, name, argc) \
  case number:                   \
    return sys_##name(EXO_SYSCALL_ARGS(argc, regs));
    EXO_SYSCALLS(CASE)
#undef CASE
  }
  return Call{0, 99};
}

std::vector<Error> all_errors() {
  std::vector<Error> errors;
  for (int value = 1; value < 256; ++value) {
    auto error = static_cast<Error>(value);
    if (std::string(exo::error_name(error)) != "unknown error") errors.push_back(error);
  }
  return errors;
}

// The cells of every Markdown table row ("| a | b | c |") in `text`, trimmed, without backquotes.
std::vector<std::vector<std::string>> table_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 2 || line[0] != '|') continue;
    std::vector<std::string> cells;
    size_t start = 1;
    for (size_t bar = line.find('|', start); bar != std::string::npos;
         start = bar + 1, bar = line.find('|', start)) {
      std::string cell = line.substr(start, bar - start);
      size_t first = cell.find_first_not_of(" `");
      size_t last = cell.find_last_not_of(" `");
      cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
    }
    rows.push_back(cells);
  }
  return rows;
}

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  return i < s.size() && s.find_first_not_of("0123456789", i) == std::string::npos;
}

std::string read_doc() {
  const char* path = std::getenv("EXO_SYSCALLS_DOC");
  if (path == nullptr) return "";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(AbiTable, NumbersAreUniqueAndInRange) {
  std::set<unsigned> numbers;
  std::set<std::string> names;
  for (const auto& info : exo::abi::kSyscalls) {
    EXPECT_GT(info.number, 0u) << info.name;
    EXPECT_LT(info.number, unsigned{EXO_SYSCALL_COUNT}) << info.name;
    EXPECT_LE(info.argument_count, unsigned{EXO_SYSCALL_MAX_ARGUMENTS}) << info.name;
    EXPECT_TRUE(numbers.insert(info.number).second) << info.name;
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
  }
  // The table is dense: COUNT is exactly one past the highest number.
  EXPECT_EQ(*numbers.rbegin() + 1, unsigned{EXO_SYSCALL_COUNT});
  EXPECT_EQ(exo::abi::syscall_argument_count(0), -1);
  EXPECT_EQ(exo::abi::syscall_argument_count(EXO_SYSCALL_COUNT), -1);
}

TEST(AbiTable, DispatcherExpansionRoutesEveryNumber) {
  const uint64_t regs[6] = {1, 2, 3, 4, 5, 6};
  for (const auto& info : exo::abi::kSyscalls) {
    Call call = dispatch(info.number, regs);
    EXPECT_EQ(call.number, info.number) << info.name;
    EXPECT_EQ(call.argc, info.argument_count) << info.name;
  }
  EXPECT_EQ(dispatch(0, regs).argc, 99u);
  EXPECT_EQ(dispatch(EXO_SYSCALL_COUNT, regs).argc, 99u);
}

TEST(AbiTable, RightsMirrorTheKernel) {
  using exo::object::Rights;
  using exo::object::rights_bits;
  EXPECT_EQ(EXO_RIGHT_READ, rights_bits(Rights::kRead));
  EXPECT_EQ(EXO_RIGHT_WRITE, rights_bits(Rights::kWrite));
  EXPECT_EQ(EXO_RIGHT_EXECUTE, rights_bits(Rights::kExecute));
  EXPECT_EQ(EXO_RIGHT_MAP, rights_bits(Rights::kMap));
  EXPECT_EQ(EXO_RIGHT_TRANSFER, rights_bits(Rights::kTransfer));
  EXPECT_EQ(EXO_RIGHT_DUPLICATE, rights_bits(Rights::kDuplicate));
  EXPECT_EQ(EXO_RIGHT_SIGNAL, rights_bits(Rights::kSignal));
  EXPECT_EQ(EXO_RIGHT_WAIT, rights_bits(Rights::kWait));
  EXPECT_EQ(EXO_RIGHT_GET_PROPERTY, rights_bits(Rights::kGetProperty));
  EXPECT_EQ(EXO_RIGHT_SET_PROPERTY, rights_bits(Rights::kSetProperty));
  EXPECT_EQ(EXO_RIGHT_MANAGE, rights_bits(Rights::kManage));
  EXPECT_EQ((EXO_RIGHT_MANAGE << 1) - 1, exo::object::kAllRightsBits);
}

TEST(AbiTable, ProtectionBitsDoNotOverlapFlags) {
  EXPECT_EQ(EXO_PROT_MASK & EXO_MAP_FLAGS_MASK, 0u);
  EXPECT_EQ(EXO_PROT_READ | EXO_PROT_WRITE | EXO_PROT_EXECUTE, EXO_PROT_MASK);
}

TEST(AbiStatus, EveryErrorHasItsOwnDocumentedCode) {
  std::set<ExoStatus> seen;
  for (Error error : all_errors()) {
    ExoStatus status = exo::abi::to_abi_status(error);
    EXPECT_LT(status, 0) << exo::error_name(error);
    EXPECT_GE(status, EXO_STATUS_MIN) << exo::error_name(error);
    EXPECT_NE(status, EXO_ERR_INTERNAL) << exo::error_name(error) << " is not mapped";
    EXPECT_NE(status, EXO_ERR_BAD_SYSCALL) << exo::error_name(error);
    EXPECT_TRUE(seen.insert(status).second) << exo::error_name(error) << " shares a code";
    EXPECT_EQ(exo::abi::from_abi_status(status), error) << exo::error_name(error);
    EXPECT_STRNE(exo::abi::abi_status_name(status), "EXO_ERR_?");
  }
  EXPECT_EQ(exo::abi::to_abi_status(static_cast<Error>(9999)), EXO_ERR_INTERNAL);
  EXPECT_EQ(exo::abi::from_abi_status(EXO_ERR_BAD_SYSCALL), Error::kUnsupported);
  EXPECT_EQ(exo::abi::from_abi_status(EXO_STATUS_MIN - 1), Error::kInvalidArgument);
  // Every code from -1 down to the minimum has a name: the range has no holes.
  for (ExoStatus s = -1; s >= EXO_STATUS_MIN; --s) {
    EXPECT_STRNE(exo::abi::abi_status_name(s), "EXO_ERR_?") << s;
  }
}

TEST(AbiDoc, SyscallTableMatchesTheHeader) {
  std::string doc = read_doc();
  if (doc.empty()) GTEST_SKIP() << "EXO_SYSCALLS_DOC not set";
  // | 1 | `debug_log` | text, length | ... |
  std::map<unsigned, std::pair<std::string, unsigned>> documented;
  for (const auto& cells : table_rows(doc)) {
    if (cells.size() < 3 || !is_number(cells[0]) || cells[0][0] == '-') continue;
    const std::string& arguments = cells[2];
    unsigned argc = 0;
    if (arguments.find_first_not_of(" -") != std::string::npos) {
      argc = 1;
      for (char c : arguments) argc += c == ',';
    }
    documented[std::stoul(cells[0])] = {cells[1], argc};
  }
  EXPECT_EQ(documented.size(), sizeof(exo::abi::kSyscalls) / sizeof(exo::abi::kSyscalls[0]));
  for (const auto& info : exo::abi::kSyscalls) {
    auto found = documented.find(info.number);
    ASSERT_NE(found, documented.end()) << info.name << " is not in docs/syscalls.md";
    EXPECT_EQ(found->second.first, info.name);
    EXPECT_EQ(found->second.second, info.argument_count) << info.name;
  }
}

TEST(AbiDoc, StatusTableMatchesTheMapping) {
  std::string doc = read_doc();
  if (doc.empty()) GTEST_SKIP() << "EXO_SYSCALLS_DOC not set";
  // | `EXO_ERR_NO_MEMORY` | -1 | `kNoMemory` | ... |
  std::map<ExoStatus, std::pair<std::string, std::string>> documented;
  for (const auto& cells : table_rows(doc)) {
    if (cells.size() < 3 || cells[0].rfind("EXO_ERR_", 0) != 0 || !is_number(cells[1])) continue;
    documented[std::stol(cells[1])] = {cells[0], cells[2]};
  }
  EXPECT_EQ(documented.size(), static_cast<size_t>(-EXO_STATUS_MIN));
  for (ExoStatus s = -1; s >= EXO_STATUS_MIN; --s) {
    auto found = documented.find(s);
    ASSERT_NE(found, documented.end()) << s << " is not in docs/syscalls.md";
    EXPECT_EQ(found->second.first, exo::abi::abi_status_name(s));
  }
  for (Error error : all_errors()) {
    ExoStatus s = exo::abi::to_abi_status(error);
    std::string name = exo::error_name(error);
    EXPECT_NE(documented[s].second.find(name), std::string::npos)
        << exo::error_name(error) << " is not documented next to " << exo::abi::abi_status_name(s);
  }
}

TEST(AbiStart, BlockLayout) {
  EXPECT_EQ(offsetof(ExoStartBlock, magic), 0u);
  EXPECT_EQ(offsetof(ExoStartBlock, version), 8u);
  EXPECT_EQ(offsetof(ExoStartBlock, size), 12u);
  EXPECT_EQ(offsetof(ExoStartBlock, argc), 16u);
  EXPECT_EQ(offsetof(ExoStartBlock, argv), 24u);
  EXPECT_EQ(offsetof(ExoStartBlock, envc), 32u);
  EXPECT_EQ(offsetof(ExoStartBlock, envp), 40u);
  EXPECT_EQ(offsetof(ExoStartBlock, handle_count), 48u);
  EXPECT_EQ(offsetof(ExoStartBlock, handles), 56u);
  EXPECT_EQ(offsetof(ExoStartBlock, initrd_base), 64u);
  EXPECT_EQ(offsetof(ExoStartBlock, initrd_size), 72u);
  const uint64_t magic = EXO_START_MAGIC;
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&magic), 8), "EXOSTART");
}

}  // namespace
