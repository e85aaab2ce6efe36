// init's pure parsing: startup.list words and run=NAME ARGS.
#include "servers/init/command_line.h"

namespace exo::init {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

}  // namespace

usize split_words(char* line, char** words, usize capacity) {
  usize count = 0;
  char* p = line;
  for (;;) {
    while (is_space(*p)) *p++ = '\0';
    if (*p == '\0' || *p == '#') {
      *p = '\0';
      return count;
    }
    if (count < capacity) words[count++] = p;
    while (*p != '\0' && *p != '#' && !is_space(*p)) ++p;
    if (*p == '#') {
      *p = '\0';
      return count;
    }
  }
}

usize find_run_request(int argc, char** argv, char** run_argv, usize capacity, bool* empty_name) {
  *empty_name = false;
  if (capacity == 0) return 0;
  for (int i = 1; i < argc; ++i) {
    const char* word = argv[i];
    if (!(word[0] == 'r' && word[1] == 'u' && word[2] == 'n' && word[3] == '=')) continue;
    if (word[4] == '\0') {
      *empty_name = true;
      return 0;
    }
    usize count = 0;
    run_argv[count++] = argv[i] + 4;
    for (int j = i + 1; j < argc && count < capacity; ++j) run_argv[count++] = argv[j];
    return count;
  }
  return 0;
}

}  // namespace exo::init
