// The built initrd: scripts/make_initrd.py's archive read back with the loader's cpio reader.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "exo/load_plan.h"
#include "kernel/loader/cpio.h"

namespace {

std::vector<uint8_t> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

TEST(InitrdArchive, ReadsBackWithTheLoadersReader) {
  const char* path = std::getenv("EXO_INITRD");
  if (path == nullptr) GTEST_SKIP() << "EXO_INITRD not set";
  std::vector<uint8_t> archive = read_file(path);
  ASSERT_FALSE(archive.empty());
  EXPECT_EQ(archive.size() % 512, 0u);
  exo::ByteSpan bytes(archive.data(), archive.size());
  exo::loader::ParseDiagnostic diag;
  auto count = exo::loader::cpio_validate(bytes, &diag);
  ASSERT_TRUE(count.ok()) << diag.what << " at " << diag.offset;
  EXPECT_GE(*count, 2u);

  auto list = exo::loader::cpio_find(bytes, "startup.list", &diag);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(exo::loader::cpio_is_regular(*list));

  // Every entry but startup.list is a program the loader accepts, marked executable.
  size_t offset = 0;
  exo::loader::CpioEntry entry;
  int programs = 0;
  bool saw_init = false;
  for (;;) {
    auto more = exo::loader::cpio_next(bytes, &offset, &entry, &diag);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    std::string name(entry.name, entry.name_length);
    if (name == "startup.list") continue;
    SCOPED_TRACE(name);
    saw_init = saw_init || name == "init";
    ++programs;
    EXPECT_TRUE(exo::loader::cpio_is_regular(entry));
    EXPECT_EQ(entry.mode & 0777, 0755u);
    exo::sys::LoadPlan plan;
    EXPECT_TRUE(exo::sys::plan_load(entry.data, exo::sys::kDefaultStackSize, &plan, &diag).ok())
        << diag.what;
  }
  EXPECT_TRUE(saw_init);
  EXPECT_GE(programs, 1);

  // init's bytes are the linked file's bytes.
  if (const char* init_path = std::getenv("EXO_INIT"); init_path != nullptr) {
    std::vector<uint8_t> init = read_file(init_path);
    auto packed = exo::loader::cpio_find(bytes, "init", &diag);
    ASSERT_TRUE(packed.ok());
    ASSERT_EQ(packed->data.size(), init.size());
    EXPECT_TRUE(std::equal(init.begin(), init.end(), packed->data.begin()));
  }
}

}  // namespace
