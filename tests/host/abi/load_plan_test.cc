// The loader's pure half: an ELF image to map operations, and the start block layout.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "exo/load_plan.h"

namespace {

using exo::ByteSpan;
using exo::Error;
using exo::MutableByteSpan;
using exo::sys::build_start_block;
using exo::sys::kStackTop;
using exo::sys::LoadPlan;
using exo::sys::MapOp;
using exo::sys::plan_load;
using exo::sys::StartArguments;
using exo::sys::StartHandle;
using exo::sys::StartLayout;

constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kPtTls = 7;
constexpr uint32_t kPfX = 1, kPfW = 2, kPfR = 4;

struct Segment {
  uint32_t type;
  uint32_t flags;
  uint64_t offset;
  uint64_t vaddr;
  uint64_t filesz;
  uint64_t memsz;
};

// A minimal static x86_64 ET_EXEC image: header, program headers, and `size` file bytes.
std::vector<uint8_t> make_elf(const std::vector<Segment>& segments, uint64_t entry, size_t size) {
  std::vector<uint8_t> image(size, 0x90);
  auto put = [&](size_t at, uint64_t value, size_t bytes) {
    for (size_t i = 0; i < bytes; ++i) image[at + i] = static_cast<uint8_t>(value >> (8 * i));
  };
  const uint8_t ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
  std::memcpy(image.data(), ident, sizeof(ident));
  put(16, 2, 2);   // ET_EXEC
  put(18, 62, 2);  // EM_X86_64
  put(20, 1, 4);   // EV_CURRENT
  put(24, entry, 8);
  put(32, 64, 8);  // e_phoff
  put(52, 64, 2);  // e_ehsize
  put(54, 56, 2);  // e_phentsize
  put(56, segments.size(), 2);
  for (size_t i = 0; i < segments.size(); ++i) {
    size_t at = 64 + 56 * i;
    const Segment& s = segments[i];
    put(at, s.type, 4);
    put(at + 4, s.flags, 4);
    put(at + 8, s.offset, 8);
    put(at + 16, s.vaddr, 8);
    put(at + 24, s.vaddr, 8);
    put(at + 32, s.filesz, 8);
    put(at + 40, s.memsz, 8);
    put(at + 48, 0x1000, 8);
  }
  return image;
}

ByteSpan span(const std::vector<uint8_t>& v) {
  return ByteSpan(v.data(), v.size());
}

TEST(LoadPlan, SegmentsBecomePageAlignedOperationsPlusAStack) {
  auto image = make_elf({{kPtLoad, kPfR | kPfX, 0x1000, 0x401000, 0x234, 0x234},
                         {kPtLoad, kPfR, 0x2000, 0x402000, 0x100, 0x100},
                         {kPtLoad, kPfR | kPfW, 0x2100, 0x403100, 0x80, 0x3000}},
                        0x401010, 0x3000);
  LoadPlan plan;
  exo::loader::ParseDiagnostic diag;
  ASSERT_TRUE(plan_load(span(image), 10000, &plan, &diag).ok()) << diag.what;
  EXPECT_EQ(plan.entry, 0x401010u);
  ASSERT_EQ(plan.op_count, 4u);
  const MapOp& text = plan.ops[0];
  EXPECT_EQ(text.address, 0x401000u);
  EXPECT_EQ(text.length, 0x1000u);
  EXPECT_EQ(text.copy_offset, 0u);
  EXPECT_EQ(text.file_offset, 0x1000u);
  EXPECT_EQ(text.file_length, 0x234u);
  EXPECT_EQ(text.protection, EXO_PROT_READ | EXO_PROT_EXECUTE);
  EXPECT_EQ(plan.ops[1].protection, EXO_PROT_READ);
  const MapOp& data = plan.ops[2];
  EXPECT_EQ(data.address, 0x403000u);
  EXPECT_EQ(data.length, 0x4000u);  // 0x403100 + 0x3000 rounds up to 0x407000
  EXPECT_EQ(data.copy_offset, 0x100u);
  EXPECT_EQ(data.file_offset, 0x2100u);
  EXPECT_EQ(data.file_length, 0x80u);
  EXPECT_EQ(data.protection, EXO_PROT_READ | EXO_PROT_WRITE);
  EXPECT_FALSE(data.is_stack);
  const MapOp& stack = plan.ops[3];
  EXPECT_TRUE(stack.is_stack);
  EXPECT_EQ(stack.length, 0x3000u);  // 10000 rounded up to pages
  EXPECT_EQ(stack.address + stack.length, kStackTop);
  EXPECT_EQ(stack.protection, EXO_PROT_READ | EXO_PROT_WRITE);
  EXPECT_EQ(stack.file_length, 0u);
}

TEST(LoadPlan, RefusesWhatTheElfCheckRefuses) {
  LoadPlan plan;
  exo::loader::ParseDiagnostic diag;
  auto wx =
      make_elf({{kPtLoad, kPfR | kPfW | kPfX, 0x1000, 0x401000, 0x10, 0x10}}, 0x401000, 0x2000);
  auto result = plan_load(span(wx), 4096, &plan, &diag);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), Error::kAccessDenied);
  auto kernel = make_elf({{kPtLoad, kPfR | kPfX, 0x1000, 0xffffffff80001000, 0x10, 0x10}},
                         0xffffffff80001000, 0x2000);
  EXPECT_EQ(plan_load(span(kernel), 4096, &plan, &diag).error(), Error::kAccessDenied);
  std::vector<uint8_t> junk(200, 0);
  EXPECT_EQ(plan_load(span(junk), 4096, &plan, &diag).error(), Error::kMalformed);
  EXPECT_EQ(plan_load(ByteSpan(), 4096, &plan, &diag).error(), Error::kMalformed);
}

TEST(LoadPlan, RefusesTlsAZeroStackAndOverlapWithTheStack) {
  LoadPlan plan;
  exo::loader::ParseDiagnostic diag;
  auto tls = make_elf({{kPtLoad, kPfR | kPfX, 0x1000, 0x401000, 0x100, 0x100},
                       {kPtLoad, kPfR | kPfW, 0x2000, 0x402000, 0x100, 0x100},
                       {kPtTls, kPfR, 0x2000, 0x402000, 0x10, 0x20}},
                      0x401000, 0x3000);
  EXPECT_EQ(plan_load(span(tls), 4096, &plan, &diag).error(), Error::kUnsupported);
  auto fine = make_elf({{kPtLoad, kPfR | kPfX, 0x1000, 0x401000, 0x100, 0x100}}, 0x401000, 0x2000);
  EXPECT_EQ(plan_load(span(fine), 0, &plan, &diag).error(), Error::kInvalidArgument);
  EXPECT_EQ(plan_load(span(fine), ~0ull, &plan, &diag).error(), Error::kInvalidArgument);
  uint64_t high = kStackTop - 0x1000;
  auto clash = make_elf({{kPtLoad, kPfR | kPfX, 0x1000, high, 0x100, 0x100}}, high, 0x2000);
  EXPECT_EQ(plan_load(span(clash), 0x10000, &plan, &diag).error(), Error::kAlreadyExists);
}

// The real things: init and the test programs as built by the cross toolchain with
// libsys/user.ld (EXO_USER_ELF is a ':'-separated list of paths).
TEST(LoadPlan, TheBuiltUserPrograms) {
  const char* paths = std::getenv("EXO_USER_ELF");
  if (paths == nullptr) GTEST_SKIP() << "EXO_USER_ELF not set";
  std::string list = paths;
  size_t start = 0;
  int programs = 0;
  while (start <= list.size()) {
    size_t end = list.find(':', start);
    if (end == std::string::npos) end = list.size();
    std::string path = list.substr(start, end - start);
    start = end + 1;
    if (path.empty()) continue;
    SCOPED_TRACE(path);
    ++programs;
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> image((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    ASSERT_FALSE(image.empty());
    LoadPlan plan;
    exo::loader::ParseDiagnostic diag;
    ASSERT_TRUE(plan_load(span(image), exo::sys::kDefaultStackSize, &plan, &diag).ok())
        << diag.what << " at " << diag.offset;
    ASSERT_EQ(plan.op_count, 4u);  // text, rodata, data+bss, stack
    EXPECT_EQ(plan.ops[0].address, 0x400000u);
    EXPECT_EQ(plan.ops[0].protection, EXO_PROT_READ | EXO_PROT_EXECUTE);
    EXPECT_EQ(plan.ops[1].protection, EXO_PROT_READ);
    EXPECT_EQ(plan.ops[2].protection, EXO_PROT_READ | EXO_PROT_WRITE);
    EXPECT_GE(plan.entry, plan.ops[0].address);
    EXPECT_LT(plan.entry, plan.ops[0].address + plan.ops[0].length);
    for (size_t i = 0; i + 1 < plan.op_count; ++i) {
      EXPECT_LE(plan.ops[i].address + plan.ops[i].length, plan.ops[i + 1].address);
      EXPECT_LE(plan.ops[i].copy_offset + plan.ops[i].file_length, plan.ops[i].length);
      EXPECT_LE(plan.ops[i].file_offset + plan.ops[i].file_length, image.size());
    }
  }
  EXPECT_GE(programs, 1);
}

// Reads a user pointer of the block as a host pointer into `buffer`.
template <typename T>
const T* at(const std::vector<uint8_t>& buffer, uint64_t base, uint64_t user_address) {
  EXPECT_GE(user_address, base);
  EXPECT_LT(user_address, base + buffer.size());
  return reinterpret_cast<const T*>(buffer.data() + (user_address - base));
}

TEST(StartBlock, LayoutAndPointersAreForTheChildsAddress) {
  std::vector<uint8_t> buffer(8192, 0xee);
  const uint64_t base = 0x7fff0000;  // where the child sees the buffer
  const char* argv[] = {"syscall_test", "seed=7", ""};
  const char* envp[] = {"HOME=/", "TERM=serial"};
  StartHandle handles[] = {{0x1235, EXO_START_HANDLE_PROCESS_SELF}, {0x999, 0x100}};
  StartArguments args;
  args.argv = argv;
  args.argc = 3;
  args.envp = envp;
  args.envc = 2;
  args.handles = handles;
  args.handle_count = 2;
  args.initrd_base = 0x10000000;
  args.initrd_size = 4096;
  auto layout = build_start_block(MutableByteSpan(buffer.data(), buffer.size()), base, args);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->block_address % 16, 0u);
  EXPECT_EQ(layout->stack_top % 16, 0u);
  EXPECT_LE(layout->stack_top, layout->block_address);
  EXPECT_GE(layout->stack_top - base, 256u);

  ExoStartBlock block;
  std::memcpy(&block, at<uint8_t>(buffer, base, layout->block_address), sizeof(block));
  EXPECT_EQ(block.magic, EXO_START_MAGIC);
  EXPECT_EQ(block.version, EXO_START_VERSION);
  EXPECT_EQ(block.argc, 3u);
  EXPECT_EQ(block.envc, 2u);
  EXPECT_EQ(block.initrd_base, 0x10000000u);
  EXPECT_EQ(block.initrd_size, 4096u);
  EXPECT_LE(layout->block_address + block.size, base + buffer.size());
  const uint64_t* user_argv = at<uint64_t>(buffer, base, block.argv);
  for (int i = 0; i < 3; ++i) {
    EXPECT_STREQ(at<char>(buffer, base, user_argv[i]), argv[i]);
    EXPECT_LT(user_argv[i], layout->block_address + block.size);
  }
  EXPECT_EQ(user_argv[3], 0u);
  const uint64_t* user_envp = at<uint64_t>(buffer, base, block.envp);
  EXPECT_STREQ(at<char>(buffer, base, user_envp[0]), "HOME=/");
  EXPECT_STREQ(at<char>(buffer, base, user_envp[1]), "TERM=serial");
  EXPECT_EQ(user_envp[2], 0u);
  const ExoStartHandle* user_handles = at<ExoStartHandle>(buffer, base, block.handles);
  EXPECT_EQ(user_handles[0].handle, 0x1235u);
  EXPECT_EQ(user_handles[0].role, EXO_START_HANDLE_PROCESS_SELF);
  EXPECT_EQ(user_handles[1].handle, 0x999u);
  // Nothing below the block was touched: that is the stack.
  for (uint64_t i = 0; i < layout->stack_top - base; ++i) ASSERT_EQ(buffer[i], 0xee) << i;
}

TEST(StartBlock, EmptyArgumentsStillGiveTerminatedArrays) {
  std::vector<uint8_t> buffer(1024);
  StartArguments args;
  auto layout = build_start_block(MutableByteSpan(buffer.data(), buffer.size()), 0x1000, args);
  ASSERT_TRUE(layout.ok());
  ExoStartBlock block;
  std::memcpy(&block, at<uint8_t>(buffer, 0x1000, layout->block_address), sizeof(block));
  EXPECT_EQ(block.argc, 0u);
  EXPECT_EQ(*at<uint64_t>(buffer, 0x1000, block.argv), 0u);
  EXPECT_EQ(*at<uint64_t>(buffer, 0x1000, block.envp), 0u);
  EXPECT_EQ(block.handles, 0u);
}

TEST(StartBlock, RefusesWhatDoesNotFitOrIsNotThere) {
  std::vector<uint8_t> buffer(300);
  std::string long_arg(200, 'x');
  const char* argv[] = {long_arg.c_str()};
  StartArguments args;
  args.argv = argv;
  args.argc = 1;
  auto span = MutableByteSpan(buffer.data(), buffer.size());
  EXPECT_EQ(build_start_block(span, 0x1000, args).error(), Error::kOutOfRange);
  std::vector<uint8_t> big(4096);
  auto big_span = MutableByteSpan(big.data(), big.size());
  EXPECT_EQ(build_start_block(big_span, 0x1008, args).error(), Error::kInvalidArgument);
  const char* with_null[] = {"a", nullptr};
  args.argv = with_null;
  args.argc = 2;
  EXPECT_EQ(build_start_block(big_span, 0x1000, args).error(), Error::kInvalidArgument);
  args.argv = nullptr;
  EXPECT_EQ(build_start_block(big_span, 0x1000, args).error(), Error::kInvalidArgument);
  args.argc = 0;
  args.handle_count = 1;
  EXPECT_EQ(build_start_block(big_span, 0x1000, args).error(), Error::kInvalidArgument);
  args.handle_count = 0;
  args.argc = 1u << 30;  // absurd counts cannot overflow the size computation
  const char* one[] = {"a"};
  args.argv = one;
  EXPECT_EQ(build_start_block(big_span, 0x1000, args).error(), Error::kOutOfRange);
}

}  // namespace
