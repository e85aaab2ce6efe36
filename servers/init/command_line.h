// init's parsing, kept pure for the host tests: startup.list lines and the run=NAME request.
#pragma once

#include "kernel/lib/types.h"

namespace exo::init {

inline constexpr usize kMaxWords = 32;

// Splits `line` in place into words at spaces, tabs and carriage returns; a '#' ends the line
// (comment). Stores up to `capacity` word pointers into `words` and returns how many; words
// beyond the capacity are dropped.
usize split_words(char* line, char** words, usize capacity);

// Finds the first "run=NAME" in argv[1..argc) and fills run_argv with NAME and every word after
// it (at most `capacity`). Returns the count, 0 when there is no run= word, or when NAME is empty
// (then *empty_name is set so init can say so).
usize find_run_request(int argc, char** argv, char** run_argv, usize capacity, bool* empty_name);

}  // namespace exo::init
